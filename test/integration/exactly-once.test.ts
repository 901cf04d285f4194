import { DescribeStreamSummaryCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Relay } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import { createStream, putAll, type PutResult } from '../../src/demo/producer.js';
import { describeCheckpoint, isSentinel } from '../../src/core/checkpoint.js';
import { comparePositions } from '../../src/core/record.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { startRelayProcess, writeConfig, type RelayProcess } from '../support/relay-process.js';
import { testRelayConfig, type ArchivedLine } from '../support/relay-config.js';
import { lastPositionPerShard, plannedRecords } from '../support/records.js';
import {
  createBucket,
  eventually,
  GiveUp,
  useTestStack,
  uniqueName,
  waitForCheckpoints,
  type TestStack,
} from '../support/stack.js';

/** Every object of a bucket: key -> raw bytes (as stored, still compressed). */
async function bucketContents(s3: S3Client, bucket: string): Promise<Map<string, Buffer>> {
  const contents = new Map<string, Buffer>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    for (const entry of page.Contents ?? []) {
      const key = entry.Key ?? '';
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      contents.set(key, Buffer.from(await object.Body!.transformToByteArray()));
    }
    token = page.NextContinuationToken;
  } while (token);
  return contents;
}

function linesOf(contents: Map<string, Buffer>): ArchivedLine[] {
  return [...contents].flatMap(([key, bytes]) =>
    (key.endsWith('.gz') ? gunzipSync(bytes) : bytes)
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ArchivedLine),
  );
}

/** How often each record number occurs. */
function occurrences(lines: readonly ArchivedLine[]): Map<number, number> {
  const seen = new Map<number, number>();
  for (const line of lines) seen.set(line.original.n, (seen.get(line.original.n) ?? 0) + 1);
  return seen;
}

function expectSameObjects(actual: Map<string, Buffer>, expected: Map<string, Buffer>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  const differing = [...expected].filter(([key, bytes]) => !actual.get(key)?.equals(bytes));
  expect(differing.map(([key]) => key)).toEqual([]);
}

/**
 * Objects already in the bucket whose first record is past its shard's checkpoint: the next
 * reader reads them again and must write the same keys with the same bytes.
 */
async function objectsPastCheckpoints(
  test: TestStack,
  names: { table: string; bucket: string },
): Promise<number> {
  const leases = await new LeaseStore(test.clients.dynamo, names.table).listLeases();
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await test.clients.s3.send(
      new ListObjectsV2Command({ Bucket: names.bucket, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((entry) => entry.Key ?? ''));
    token = page.NextContinuationToken;
  } while (token);
  return keys.filter((key) => {
    const match = /-(shardId-\d+)-(\d+)-(\d+)-[0-9a-f]{8}\.jsonl/.exec(key);
    if (!match) throw new Error(`not an exactly-once key: ${key}`);
    const checkpoint = leases.find((lease) => lease.leaseKey === match[1])?.checkpoint;
    if (!checkpoint || isSentinel(checkpoint)) return true;
    const first = { sequenceNumber: match[2] ?? '', subSequenceNumber: Number(match[3]) };
    return comparePositions(first, checkpoint) > 0;
  }).length;
}

/** Waits until one worker other than `previous` holds all 4 shards; returns the owners now. */
async function waitForNewOwners(
  test: TestStack,
  table: string,
  previous: ReadonlySet<string>,
): Promise<Set<string>> {
  const store = new LeaseStore(test.clients.dynamo, table);
  return eventually(
    'a new worker to take the shards',
    async () => {
      const leases = await store.listLeases();
      const owners = new Set(leases.map((lease) => lease.leaseOwner ?? ''));
      const taken =
        leases.length === 4 && !owners.has('') && [...owners].every((o) => !previous.has(o));
      return taken ? owners : undefined;
    },
    120_000,
    200,
  );
}

/** Small, record-time-driven batches, so a run of 20,000 records makes many objects. */
function exactlyOnceConfig(
  names: { stream: string; table: string; bucket: string },
  overrides: Record<string, unknown> = {},
) {
  const config = testRelayConfig(names, {
    checkpoint: { intervalMs: 500 },
    // Short failover: a restarted worker (a new worker id) takes the dead one's leases soon.
    leases: { failoverMs: 4000, takeIntervalMs: 1000, shardSyncIntervalMs: 5000 },
    consumer: { idleTimeBetweenReadsMs: 200, maxRecordsPerCall: 250 },
    log: { level: 'warn' },
    ...overrides,
  });
  Object.assign(config.sinks[0] as object, {
    exactlyOnce: true,
    // A generous grace: a busy machine must not make a quiet-looking reader cut early.
    idleFlushMs: 8000,
    buffer: { maxRecords: 400, maxBytes: 262_144, maxAgeMs: 1500 },
  });
  return config;
}

const TOTAL = 20_000;

describe('exactly-once S3 objects', () => {
  const test = useTestStack();

  it('kill -9 at random points while 20,000 records flow: the objects of one clean run, each record once', async () => {
    const stream = uniqueName('eo');
    const crashed = { stream, table: uniqueName('eo-crash'), bucket: uniqueName('eo-crash') };
    const clean = { stream, table: uniqueName('eo-clean'), bucket: uniqueName('eo-clean') };
    await createStream(test.clients.kinesis, stream, 4);
    await createBucket(test.clients, crashed.bucket);
    await createBucket(test.clients, clean.bucket);

    // Half the records travel in KPL aggregates, so keys carry sub-sequence numbers too.
    // They are put in one chunk per relay run, each as that run takes the shards: records
    // that arrive while a worker holds the shards are what make an upload the checkpoint has
    // not passed yet. (Put all at once, a fast relay could drain and checkpoint the whole
    // stream before the last kill, leaving no such moment to kill at.)
    const planned = plannedRecords(0, TOTAL, { aggregatedShare: 0.5, perAggregate: 8 });
    const RUNS = 4;
    const chunkSize = Math.ceil(planned.records.length / (RUNS + 1));
    const results: PutResult[] = [];
    let producing: Promise<void> = Promise.resolve();
    let next = 0;
    let putsPending = 0;
    const putNext = (count: number) => {
      const records = planned.records.slice(next, next + count);
      next += records.length;
      putsPending += 1;
      producing = producing.then(async () => {
        for (let start = 0; start < records.length; start += 250) {
          results.push(
            ...(await putAll(test.clients.kinesis, stream, records.slice(start, start + 250))),
          );
        }
        putsPending -= 1;
      });
    };

    // A slow checkpoint, so kills land between uploads and the checkpoints that pass them.
    const configPath = writeConfig(
      exactlyOnceConfig(crashed, { checkpoint: { intervalMs: 2000 }, log: { level: 'info' } }),
    );
    const kills: number[] = [];
    let rewritten = 0;
    let previousOwners = new Set<string>();
    let relay: RelayProcess | undefined;
    for (let run = 0; run < RUNS; run += 1) {
      relay = startRelayProcess(['run', '--config', configPath]);
      // Kill at a random point once this worker holds the shards (after the dead one's
      // leases expired), so every kill lands while records are being read and written.
      previousOwners = await waitForNewOwners(test, crashed.table, previousOwners);
      putNext(chunkSize);
      const lifetimeMs = Math.floor(Math.random() * 3000);
      await new Promise((resolve) => setTimeout(resolve, lifetimeMs));
      // ...at the next moment an uploaded object is not yet covered by a checkpoint: the
      // case a kill must survive without duplicates (however slow this machine is). A relay
      // that drained its chunk before the first look leaves no such moment until more
      // records arrive (the checkpoint follows an upload within 2 s), so while there is
      // none and the producer is idle, a few more of the planned records are put (100 every
      // 2 s at most, and no more than this run's part of what is left, so the planned
      // records last through every run).
      const live = relay;
      let lastTopUp = Date.now();
      let topUpsLeft = Math.floor((planned.records.length - next) / (RUNS - run + 1));
      await eventually(
        'an upload the checkpoint has not passed yet',
        async () => {
          if ((await objectsPastCheckpoints(test, crashed)) > 0) return true;
          if (live.child.exitCode !== null) throw new GiveUp('the relay exited');
          if (putsPending === 0 && topUpsLeft >= 100 && Date.now() - lastTopUp > 2000) {
            lastTopUp = Date.now();
            topUpsLeft -= 100;
            putNext(100);
          }
          return undefined;
        },
        120_000,
        100,
      ).catch(async (error: unknown) => {
        const leases = await new LeaseStore(test.clients.dynamo, crashed.table).listLeases();
        const positions = leases.map(
          (lease) => `${lease.leaseKey} ${describeCheckpoint(lease.checkpoint)}`,
        );
        throw new Error(
          `${String(error)}; put ${results.length} of ${planned.records.length}; checkpoints ${positions.join(', ')}; the relay's last output: ${live.output().slice(-4000)}`,
        );
      });
      relay.child.kill('SIGKILL');
      expect(await relay.exited).toBe('SIGKILL');
      kills.push(lifetimeMs);
      rewritten += await objectsPastCheckpoints(test, crashed);
    }
    putNext(planned.records.length - next);
    await producing;
    expect(results.length).toBe(planned.records.length);
    const last = lastPositionPerShard(results, planned.userCounts);

    // The survivor reads to the end; the tails are written once the idle flush proves them.
    relay = startRelayProcess(['run', '--config', configPath]);
    await waitForCheckpoints(test.clients, crashed.table, last, 240_000);
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);

    // One clean run over the finished stream, into its own bucket and lease table.
    const cleanRelay = startRelayProcess([
      'run',
      '--config',
      writeConfig(exactlyOnceConfig(clean)),
    ]);
    await waitForCheckpoints(test.clients, clean.table, last, 240_000);
    cleanRelay.child.kill('SIGTERM');
    expect(await cleanRelay.exited).toBe(0);

    // The kills did land between uploads and checkpoints: those objects were written again.
    expect(rewritten).toBeGreaterThan(0);
    const afterCrashes = await bucketContents(test.clients.s3, crashed.bucket);
    const reference = await bucketContents(test.clients.s3, clean.bucket);
    expectSameObjects(afterCrashes, reference);

    const seen = occurrences(linesOf(afterCrashes));
    expect(seen.size).toBe(TOTAL);
    expect([...seen.values()].filter((count) => count > 1)).toEqual([]);
    console.log(
      `exactly-once: ${afterCrashes.size} objects, ${TOTAL} records once each; each kill -9 at the first upload not yet checkpointed after ${kills.join(', ')} ms of holding the shards; ${rewritten} objects were past the checkpoint at a kill and written again`,
    );
  }, 900_000);

  it('the same stream consumed twice from TRIM_HORIZON into two buckets gives identical objects', async () => {
    const stream = uniqueName('eo-twice');
    const first = { stream, table: uniqueName('eo-a'), bucket: uniqueName('eo-a') };
    const second = { stream, table: uniqueName('eo-b'), bucket: uniqueName('eo-b') };
    await createStream(test.clients.kinesis, stream, 2);
    await createBucket(test.clients, first.bucket);
    await createBucket(test.clients, second.bucket);

    // Both relays run while records arrive, with different timings of their own.
    const relays = [
      new Relay(validateConfig(exactlyOnceConfig(first), 'first', {}), {
        log: createLogger('warn'),
        clients: test.clients,
      }),
      new Relay(
        validateConfig(
          exactlyOnceConfig(second, {
            checkpoint: { intervalMs: 1700 },
            consumer: { idleTimeBetweenReadsMs: 700, maxRecordsPerCall: 97 },
          }),
          'second',
          {},
        ),
        { log: createLogger('warn'), clients: test.clients },
      ),
    ];
    try {
      await Promise.all(relays.map((relay) => relay.start()));
      const planned = plannedRecords(0, 3000, { aggregatedShare: 0.3, perAggregate: 5 });
      const results: PutResult[] = [];
      for (let start = 0; start < planned.records.length; start += 200) {
        results.push(
          ...(await putAll(
            test.clients.kinesis,
            stream,
            planned.records.slice(start, start + 200),
          )),
        );
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      const last = lastPositionPerShard(results, planned.userCounts);
      await waitForCheckpoints(test.clients, first.table, last, 240_000);
      await waitForCheckpoints(test.clients, second.table, last, 240_000);
    } finally {
      await Promise.all(relays.map((relay) => relay.stop()));
    }

    const a = await bucketContents(test.clients.s3, first.bucket);
    const b = await bucketContents(test.clients.s3, second.bucket);
    expect(a.size).toBeGreaterThan(2);
    expectSameObjects(b, a);
    const seen = occurrences(linesOf(a));
    expect(seen.size).toBe(3000);
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
  }, 600_000);

  it('a split shard writes its last, incomplete batch at SHARD_END, without waiting for the idle flush', async () => {
    const names = {
      stream: uniqueName('eo-split'),
      table: uniqueName('eo-split'),
      bucket: uniqueName('eo-split'),
    };
    await createStream(test.clients.kinesis, names.stream, 1);
    await createBucket(test.clients, names.bucket);
    await putAll(
      test.clients.kinesis,
      names.stream,
      plannedRecords(0, 600, { aggregatedShare: 0, perAggregate: 1 }).records,
    );
    const parent = 'shardId-000000000000';
    await test.clients.kinesis.send(
      new SplitShardCommand({
        StreamName: names.stream,
        ShardToSplit: parent,
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    await eventually('the split to finish', async () => {
      const summary = await test.clients.kinesis.send(
        new DescribeStreamSummaryCommand({ StreamName: names.stream }),
      );
      return summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE' ? true : undefined;
    });

    const config = exactlyOnceConfig(names);
    // The idle flush cannot be what writes the parent's tail within this test.
    Object.assign(config.sinks[0] as object, { idleFlushMs: 600_000 });
    const relay = startRelayProcess(['run', '--config', writeConfig(config)]);
    try {
      const store = new LeaseStore(test.clients.dynamo, names.table);
      await eventually(
        'the parent shard to reach SHARD_END',
        async () => {
          const leases = await store.listLeases();
          const lease = leases.find((candidate) => candidate.leaseKey === parent);
          return lease?.checkpoint === 'SHARD_END' ? true : undefined;
        },
        120_000,
      );
    } finally {
      relay.child.kill('SIGTERM');
      expect(await relay.exited).toBe(0);
    }
    const seen = occurrences(linesOf(await bucketContents(test.clients.s3, names.bucket)));
    expect(seen.size).toBe(600);
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
  });
});
