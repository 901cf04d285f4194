import { describe, expect, it } from 'vitest';
import { comparePositions, type RecordPosition } from '../../src/core/record.js';
import { isSentinel } from '../../src/core/checkpoint.js';
import { createStream } from '../../src/demo/producer.js';
import type { Lease } from '../../src/leases/lease.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import { ProducerLoop, type PutRecordInfo } from '../support/producer-loop.js';
import { startRelayProcess, writeConfig, type RelayProcess } from '../support/relay-process.js';
import { testRelayConfig, type ArchivedLine } from '../support/relay-config.js';
import { readJsonLines } from '../support/s3-reader.js';
import { createBucket, eventually, useTestStack, uniqueName } from '../support/stack.js';

const FAILOVER_MS = 3000;
const TAKE_INTERVAL_MS = 1000;

/** Shortened KCL timings, through config: renew and claim every second. */
function workerConfig(names: { stream: string; table: string; bucket: string }) {
  const config = testRelayConfig(names, {
    leases: {
      failoverMs: FAILOVER_MS,
      takeIntervalMs: TAKE_INTERVAL_MS,
      shardSyncIntervalMs: 2000,
    },
  });
  (config.sinks[0] as { buffer: object }).buffer = {
    maxRecords: 500,
    maxBytes: 1_048_576,
    maxAgeMs: 400,
  };
  return writeConfig(config);
}

function workerIdOf(relay: RelayProcess): string | undefined {
  return /"workerId":"([^"]+)"[^\n]*kinesis-relay starting/.exec(relay.output())?.[1];
}

const positionKey = (shardId: string, p: RecordPosition) =>
  `${shardId}/${p.sequenceNumber}/${p.subSequenceNumber}`;

describe('many workers on one stream', () => {
  const test = useTestStack();

  async function setUp(shards: number) {
    const names = {
      stream: uniqueName('multi'),
      table: uniqueName('multi-leases'),
      bucket: uniqueName('multi-archive'),
    };
    await createStream(test.clients.kinesis, names.stream, shards);
    await createBucket(test.clients, names.bucket);
    return {
      names,
      store: new LeaseStore(test.clients.dynamo, names.table),
      configPath: workerConfig(names),
    };
  }

  async function startWorker(configPath: string): Promise<{ relay: RelayProcess; id: string }> {
    const relay = startRelayProcess(['run', '--config', configPath]);
    const id = await eventually('the worker to start', async () => workerIdOf(relay), 30_000, 100);
    return { relay, id };
  }

  async function stopAll(relays: RelayProcess[]): Promise<void> {
    for (const relay of relays) if (relay.child.exitCode === null) relay.child.kill('SIGTERM');
    await Promise.all(relays.map((relay) => relay.exited));
  }

  /** Every put record is in S3 (by position); returns the delivered lines. */
  async function allDelivered(
    bucket: string,
    put: readonly PutRecordInfo[],
  ): Promise<ArchivedLine[]> {
    const wanted = new Set(
      put.map((r) =>
        positionKey(r.shardId, { sequenceNumber: r.sequenceNumber, subSequenceNumber: 0 }),
      ),
    );
    return eventually(
      `all ${wanted.size} records delivered`,
      async () => {
        const lines = await readJsonLines<ArchivedLine>(test.clients.s3, bucket);
        const seen = new Set(
          lines.map((l) =>
            positionKey(l.kinesis.shard_id, {
              sequenceNumber: l.kinesis.sequence_number,
              subSequenceNumber: l.kinesis.sub_sequence_number,
            }),
          ),
        );
        return [...wanted].every((key) => seen.has(key)) ? lines : undefined;
      },
      120_000,
      2000,
    );
  }

  it('3 workers, 8 shards: leases spread within ±1; kill -9 of one is taken over within failover + a take pass, nothing lost', async () => {
    const { names, store, configPath } = await setUp(8);
    // Records flow only once the workers have balanced: a lease stolen while balancing
    // re-delivers its loser's unacknowledged tail too (at-least-once), which would blur
    // what this test pins down, the duplicates of a crash.
    const producer = new ProducerLoop(test.clients.kinesis, names.stream);
    const workers = [
      await startWorker(configPath),
      await startWorker(configPath),
      await startWorker(configPath),
    ];
    try {
      // Generous: on a loaded machine three relay processes start slowly, and each balancing
      // steal is one handoff at a take pass. The timeout says where the leases were.
      let leasesPerWorker: number[] = [];
      const spread = await eventually(
        'leases spread evenly',
        async () => {
          const leases = await store.listLeases();
          leasesPerWorker = workers.map(
            ({ id }) => leases.filter((l) => l.leaseOwner === id).length,
          );
          const balanced =
            leasesPerWorker.reduce((a, b) => a + b, 0) === 8 &&
            leasesPerWorker.every((c) => c === 2 || c === 3);
          return balanced ? leasesPerWorker : undefined;
        },
        120_000,
        250,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}; leases per worker: ${leasesPerWorker.join(', ')}`);
      });
      expect(spread.reduce((a, b) => a + b, 0)).toBe(8);
      // A worker learns of a steal at its next renewal: let the last losers notice first.
      await new Promise((resolve) => setTimeout(resolve, FAILOVER_MS));
      producer.start();
      await new Promise((resolve) => setTimeout(resolve, 3000));

      const victim = workers[0]!;
      const atKill = await store.listLeases();
      const victimShards = atKill.filter((l) => l.leaseOwner === victim.id);
      victim.relay.child.kill('SIGKILL');
      const killedAt = Date.now();
      const takeover = await eventually(
        'the survivors to hold every lease',
        async () => {
          const leases = await store.listLeases();
          const survivors = new Set(workers.slice(1).map((w) => w.id));
          return leases.every((l) => l.leaseOwner !== null && survivors.has(l.leaseOwner))
            ? Date.now() - killedAt
            : undefined;
        },
        30_000,
        100,
      );
      console.log(
        `kill -9 failover: ${victimShards.length} leases taken over in ${takeover} ms (failoverMs ${FAILOVER_MS}, take pass ${TAKE_INTERVAL_MS} ms)`,
      );
      // Expiry needs failoverMs of an unchanged counter, observed by a take pass that runs
      // every takeIntervalMs: failover + one pass, plus scheduling slack for a loaded
      // 2-core machine (9 s was seen there with six other test suites running).
      expect(takeover).toBeLessThan(FAILOVER_MS + TAKE_INTERVAL_MS + 6000);
      const afterTakeover = await store.listLeases();

      await new Promise((resolve) => setTimeout(resolve, 1500));
      const put = await producer.stop();
      const lines = await allDelivered(names.bucket, put);
      const beforeStop = await store.listLeases();
      await stopAll(workers.map((w) => w.relay));

      const counts = new Map<string, number>();
      for (const l of lines) {
        const key = positionKey(l.kinesis.shard_id, {
          sequenceNumber: l.kinesis.sequence_number,
          subSequenceNumber: l.kinesis.sub_sequence_number,
        });
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      // Where a duplicate may come from: a shard the dead worker held, past its checkpoint
      // at the kill (its unacknowledged tail); or a shard the survivors moved between them
      // afterwards while rebalancing (a steal re-reads the loser's tail: at-least-once),
      // past its checkpoint at the takeover. Nowhere else.
      const mayRepeatAfter = new Map(victimShards.map((l) => [l.leaseKey, l.checkpoint]));
      for (const lease of afterTakeover) {
        const end = beforeStop.find((l) => l.leaseKey === lease.leaseKey);
        if (end?.leaseOwner !== lease.leaseOwner && !mayRepeatAfter.has(lease.leaseKey))
          mayRepeatAfter.set(lease.leaseKey, lease.checkpoint);
      }
      let duplicates = 0;
      for (const l of lines) {
        const position = {
          sequenceNumber: l.kinesis.sequence_number,
          subSequenceNumber: l.kinesis.sub_sequence_number,
        };
        if ((counts.get(positionKey(l.kinesis.shard_id, position)) ?? 0) < 2) continue;
        duplicates += 1;
        expect(mayRepeatAfter.has(l.kinesis.shard_id), l.kinesis.shard_id).toBe(true);
        const checkpoint = mayRepeatAfter.get(l.kinesis.shard_id);
        if (checkpoint && !isSentinel(checkpoint))
          expect(comparePositions(position, checkpoint)).toBeGreaterThan(0);
      }
      console.log(
        `kill -9: ${duplicates} duplicate lines of ${lines.length}; ${mayRepeatAfter.size - victimShards.length} leases moved between survivors after the takeover`,
      );
      expect(new Set(lines.map((l) => l.original.n)).size).toBe(put.length);
    } finally {
      await producer.stop();
      await stopAll(workers.map((w) => w.relay));
    }
  }, 300_000);

  it('SIGTERM hands the leases over: another worker holds them within 2 s', async () => {
    const { names, store, configPath } = await setUp(4);
    const producer = new ProducerLoop(test.clients.kinesis, names.stream).start();
    const first = await startWorker(configPath);
    const second = await startWorker(configPath);
    try {
      await eventually(
        'both workers to hold leases',
        async () => {
          const leases = await store.listLeases();
          const owners = new Set(leases.map((l) => l.leaseOwner));
          return owners.has(first.id) && owners.has(second.id) && leases.every((l) => l.leaseOwner)
            ? true
            : undefined;
        },
        60_000,
        250,
      );
      const held = (await store.listLeases())
        .filter((l) => l.leaseOwner === first.id)
        .map((l) => l.leaseKey);
      const signalledAt = Date.now();
      first.relay.child.kill('SIGTERM');
      const handoff = await eventually(
        'the second worker to hold every lease',
        async () => {
          const leases = await store.listLeases();
          return leases.every((l: Lease) => l.leaseOwner === second.id)
            ? Date.now() - signalledAt
            : undefined;
        },
        30_000,
        50,
      );
      expect(await first.relay.exited).toBe(0);
      console.log(
        `SIGTERM handoff: ${held.length} leases held by the other worker ${handoff} ms after the signal`,
      );
      expect(handoff).toBeLessThan(2000);

      const put = await producer.stop();
      const lines = await allDelivered(names.bucket, put);
      expect(new Set(lines.map((l) => l.original.n)).size).toBe(put.length);
    } finally {
      await producer.stop();
      await stopAll([first.relay, second.relay]);
    }
  });

  it('scaling 1 → 2 → 1 workers while records flow loses nothing', async () => {
    const { names, store, configPath } = await setUp(4);
    const producer = new ProducerLoop(test.clients.kinesis, names.stream).start();
    const first = await startWorker(configPath);
    let second: Awaited<ReturnType<typeof startWorker>> | undefined;
    try {
      await eventually(
        'one worker to hold all leases',
        async () =>
          (await store.listLeases()).every((l) => l.leaseOwner === first.id) ? true : undefined,
        60_000,
        250,
      );
      second = await startWorker(configPath);
      await eventually(
        'the second worker to steal its share',
        async () =>
          (await store.listLeases()).filter((l) => l.leaseOwner === second?.id).length === 2
            ? true
            : undefined,
        60_000,
        250,
      );
      second.relay.child.kill('SIGTERM');
      expect(await second.relay.exited).toBe(0);
      await eventually(
        'the first worker to hold all leases again',
        async () =>
          (await store.listLeases()).every((l) => l.leaseOwner === first.id) ? true : undefined,
        30_000,
        250,
      );

      const put = await producer.stop();
      const lines = await allDelivered(names.bucket, put);
      expect(new Set(lines.map((l) => l.original.n)).size).toBe(put.length);
    } finally {
      await producer.stop();
      await stopAll([first.relay, ...(second ? [second.relay] : [])]);
    }
  });
});
