import { DescribeStreamSummaryCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { Relay } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import { comparePositions } from '../../src/core/record.js';
import { createStream, putAll, type PutResult } from '../../src/demo/producer.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { startHttpReceiver } from '../support/http-receiver.js';
import { ProducerLoop, type PutRecordInfo } from '../support/producer-loop.js';
import { testRelayConfig, type ArchivedLine } from '../support/relay-config.js';
import {
  runCli,
  startRelayProcess,
  writeConfig,
  type RelayProcess,
} from '../support/relay-process.js';
import { NUMBERED_PARTITION_KEYS, numberedRecord } from '../support/records.js';
import { readJsonLines } from '../support/s3-reader.js';
import { createBucket, eventually, useTestStack, uniqueName } from '../support/stack.js';

/** A delivered document as the webhook sink sends it (the normalized event). */
interface DeliveredDocument {
  readonly kinesis: {
    readonly stream: string;
    readonly shard_id: string;
    readonly sequence_number: string;
    readonly partition_key: string;
  };
  readonly original: { n: number };
}

type Item = Record<string, unknown>;

// The KCL's StreamIdentifier pattern (account:stream:creationEpoch).
const IDENTIFIER = /^([0-9]+):([^:]+):([0-9]+)$/;

/**
 * Reads a row the way the KCL's DynamoDBMultiStreamLeaseSerializer does (on top of
 * DynamoDBLeaseSerializer), failing where the KCL would get a null or a wrong type:
 * `streamName` holds the serialized stream identifier, `shardId` the bare shard id, and
 * the lease key is the two joined by a colon (MultiStreamLease.getLeaseKey).
 */
function readAsKclMultiStreamLease(item: Item) {
  expect(typeof item.leaseKey).toBe('string');
  expect(typeof item.leaseCounter).toBe('number');
  expect(typeof item.checkpoint).toBe('string');
  expect(typeof item.checkpointSubSequenceNumber).toBe('number');
  expect(typeof item.ownerSwitchesSinceCheckpoint).toBe('number');
  const streamIdentifier = String(item.streamName);
  expect(streamIdentifier).toMatch(IDENTIFIER);
  expect(typeof item.shardId).toBe('string');
  expect(item.leaseKey).toBe(`${streamIdentifier}:${String(item.shardId)}`);
  // Parent shard ids stay bare shard ids, as the KCL writes them for a multi-stream lease.
  for (const parent of (item.parentShardId as Set<string> | undefined) ?? [])
    expect(parent).toMatch(/^shardId-[0-9]+$/);
  return {
    streamName: IDENTIFIER.exec(streamIdentifier)?.[2],
    shardId: String(item.shardId),
    checkpoint: String(item.checkpoint),
  };
}

describe('several streams in one application (streams:)', () => {
  const test = useTestStack();

  async function scanTable(table: string): Promise<Item[]> {
    const page = await test.clients.dynamo.send(
      new ScanCommand({ TableName: table, ConsistentRead: true }),
    );
    return page.Items ?? [];
  }

  it('two streams, one lease table, two workers: every record of both delivered, per-key order kept, leases in the KCL multi-stream shape', async () => {
    const { kinesis } = test.clients;
    const orders = uniqueName('orders');
    const clicks = uniqueName('clicks');
    const table = uniqueName('multi-stream-leases');
    await createStream(kinesis, orders, 2);
    await createStream(kinesis, clicks, 2);
    // One stream by name, the other by ARN: both forms address a stream of the list.
    const clicksArn =
      (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: clicks })))
        .StreamDescriptionSummary?.StreamARN ?? '';
    expect(clicksArn).toMatch(/^arn:aws:kinesis:/);
    const receiver = await startHttpReceiver(() => ({ status: 200 }));
    const configPath = writeConfig({
      application: table,
      streams: [{ name: orders }, { name: clicksArn, initialPosition: 'TRIM_HORIZON' }],
      leases: { failoverMs: 3000, takeIntervalMs: 1000, shardSyncIntervalMs: 2000 },
      consumer: { idleTimeBetweenReadsMs: 200 },
      sinks: [
        {
          name: 'hook',
          type: 'webhook',
          url: receiver.url,
          buffer: { maxRecords: 200, maxBytes: 1_048_576, maxAgeMs: 200 },
          retry: { initialDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 600_000 },
        },
      ],
      checkpoint: { intervalMs: 500 },
      shutdown: { timeoutMs: 20_000 },
      metrics: { port: 0, host: '127.0.0.1' },
      log: { level: 'info' },
    });
    const producers = [new ProducerLoop(kinesis, orders), new ProducerLoop(kinesis, clicks)];
    const workers: RelayProcess[] = [];
    const workerIdOf = (relay: RelayProcess) =>
      /"workerId":"([^"]+)"[^\n]*kinesis-relay starting/.exec(relay.output())?.[1];
    const metricsPortOf = (relay: RelayProcess) =>
      /"metricsPort":(\d+)[^\n]*kinesis-relay starting/.exec(relay.output())?.[1];
    try {
      for (let i = 0; i < 2; i += 1) {
        const relay = startRelayProcess(['run', '--config', configPath]);
        workers.push(relay);
        await eventually('the worker to start', async () => workerIdOf(relay), 30_000, 100);
      }
      const ids = workers.map((relay) => workerIdOf(relay) ?? '');
      // One set of workers over the leases of both streams: 4 leases, 2 each.
      const store = new LeaseStore(test.clients.dynamo, table);
      await eventually(
        'the 4 leases of both streams balanced over both workers',
        async () => {
          const leases = await store.listLeases();
          const counts = ids.map((id) => leases.filter((l) => l.leaseOwner === id).length);
          return leases.length === 4 && counts.every((c) => c === 2) ? true : undefined;
        },
        60_000,
        250,
      );
      for (const producer of producers) producer.start();
      await new Promise((resolve) => setTimeout(resolve, 6000));
      // The order check needs keys with several records: numbered records cycle through
      // NUMBERED_PARTITION_KEYS partition keys, which a loaded machine may not have put twice in 6 s.
      await eventually(
        'each stream to have put every partition key at least twice',
        async () =>
          producers.every((p) => p.put.length >= 2 * NUMBERED_PARTITION_KEYS) ? true : undefined,
        60_000,
        200,
      );
      const [ordersPut, clicksPut] = (await Promise.all(producers.map((p) => p.stop()))) as [
        PutRecordInfo[],
        PutRecordInfo[],
      ];
      expect(ordersPut.length).toBeGreaterThan(100);
      expect(clicksPut.length).toBeGreaterThan(100);

      // Every event names its stream as configured: by name, or by ARN.
      const positionKey = (stream: string, shard: string, sequence: string) =>
        `${stream}/${shard}/${sequence}`;
      const wanted = new Set([
        ...ordersPut.map((r) => positionKey(orders, r.shardId, r.sequenceNumber)),
        ...clicksPut.map((r) => positionKey(clicksArn, r.shardId, r.sequenceNumber)),
      ]);
      const delivered = await eventually(
        `all ${wanted.size} records of both streams delivered`,
        async () => {
          const documents = receiver.requests
            .filter((request) => request.status === 200)
            .flatMap((request) => JSON.parse(request.body.toString()) as DeliveredDocument[]);
          const seen = new Set(
            documents.map((d) =>
              positionKey(d.kinesis.stream, d.kinesis.shard_id, d.kinesis.sequence_number),
            ),
          );
          return [...wanted].every((key) => seen.has(key)) ? documents : undefined;
        },
        120_000,
        1000,
      );
      // Nothing from anywhere else, and both streams' equal shard ids kept apart.
      for (const d of delivered) {
        expect(
          wanted.has(positionKey(d.kinesis.stream, d.kinesis.shard_id, d.kinesis.sequence_number)),
        ).toBe(true);
      }
      // Per stream and partition key, records arrive in put order (n grows with it);
      // a redelivered tail (at-least-once) repeats records already seen, so first arrivals count.
      const firstArrivals = new Map<string, number[]>();
      const seen = new Set<string>();
      for (const d of delivered) {
        const position = positionKey(
          d.kinesis.stream,
          d.kinesis.shard_id,
          d.kinesis.sequence_number,
        );
        if (seen.has(position)) continue;
        seen.add(position);
        const key = `${d.kinesis.stream}/${d.kinesis.partition_key}`;
        firstArrivals.set(key, [...(firstArrivals.get(key) ?? []), d.original.n]);
      }
      let keysWithSeveral = 0;
      for (const numbers of firstArrivals.values()) {
        expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
        if (numbers.length > 1) keysWithSeveral += 1;
      }
      expect(keysWithSeveral).toBeGreaterThan(0);
      const duplicates = delivered.length - seen.size;

      // Metrics keep their stream label, per stream.
      const scraped = (
        await Promise.all(
          workers.map(async (relay) => {
            const response = await fetch(`http://127.0.0.1:${metricsPortOf(relay)}/metrics`);
            return response.text();
          }),
        )
      ).join('\n');
      expect(scraped).toContain(`kinesis_relay_records_total{stream="${orders}"`);
      expect(scraped).toContain(`kinesis_relay_records_total{stream="${clicksArn}"`);

      // Checkpoints reach each stream's last records, lease by lease.
      const lastOf = (put: readonly PutResult[]) => {
        const last = new Map<string, string>();
        for (const r of put) {
          const before = last.get(r.shardId);
          if (!before || BigInt(r.sequenceNumber) > BigInt(before))
            last.set(r.shardId, r.sequenceNumber);
        }
        return last;
      };
      const expected = new Map([
        [orders, lastOf(ordersPut)],
        [clicks, lastOf(clicksPut)],
      ]);
      const items = await eventually(
        'checkpoints of both streams at their last records',
        async () => {
          const rows = await scanTable(table);
          const reached = rows.every((row) => {
            const lease = readAsKclMultiStreamLease(row);
            const last = expected.get(lease.streamName ?? '')?.get(lease.shardId);
            return (
              !last ||
              (/^[0-9]+$/.test(lease.checkpoint) &&
                comparePositions(
                  { sequenceNumber: lease.checkpoint, subSequenceNumber: 0 },
                  { sequenceNumber: last, subSequenceNumber: 0 },
                ) >= 0)
            );
          });
          return reached ? rows : undefined;
        },
        60_000,
        500,
      );
      // The table: the KCL multi-stream shape, one identifier per stream, nothing else.
      expect(items).toHaveLength(4);
      const read = items.map(readAsKclMultiStreamLease);
      expect(read.map((l) => `${l.streamName}/${l.shardId}`).sort()).toEqual(
        [
          `${clicks}/shardId-000000000000`,
          `${clicks}/shardId-000000000001`,
          `${orders}/shardId-000000000000`,
          `${orders}/shardId-000000000001`,
        ].sort(),
      );
      expect(new Set(items.map((item) => item.streamName)).size).toBe(2);
      for (const item of items) {
        expect(String(item.streamName)).toMatch(/^000000000000:/); // kinesis-local's account
        expect(ids).toContain(item.leaseOwner);
      }
      console.log(
        `two streams, two workers: ${ordersPut.length} + ${clicksPut.length} records, all delivered (${duplicates} redelivered), ${firstArrivals.size} stream/key pairs in order`,
      );

      for (const relay of workers) relay.child.kill('SIGTERM');
      expect(await Promise.all(workers.map((relay) => relay.exited))).toEqual([0, 0]);
    } finally {
      await Promise.all(producers.map((p) => p.stop()));
      for (const relay of workers) if (relay.child.exitCode === null) relay.child.kill('SIGTERM');
      await Promise.all(workers.map((relay) => relay.exited));
      await receiver.close();
    }
  });

  it("continues a KCL multi-stream application's table from its checkpoints, and leaves it readable as one", async () => {
    const { kinesis, dynamo } = test.clients;
    const names = {
      stream: uniqueName('kcl-moved'),
      table: uniqueName('kcl-moved-leases'),
      bucket: uniqueName('kcl-moved-archive'),
    };
    await createStream(kinesis, names.stream, 2);
    await createBucket(test.clients, names.bucket);
    const put = await putAll(
      kinesis,
      names.stream,
      Array.from({ length: 300 }, (_, n) => numberedRecord(n)),
    );
    const summary = (
      await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: names.stream }))
    ).StreamDescriptionSummary;
    const account = /:kinesis:[^:]+:([0-9]{12}):/.exec(summary?.StreamARN ?? '')?.[1];
    const created = summary?.StreamCreationTimestamp?.getTime() ?? 0;
    expect(account).toBeDefined();
    // This KCL application built its StreamIdentifier with the creation time in seconds.
    const identifier = `${account}:${names.stream}:${Math.floor(created / 1000)}`;
    const shards =
      (await kinesis.send(new ListShardsCommand({ StreamName: names.stream }))).Shards ?? [];
    const first = shards.find((s) => s.ShardId === 'shardId-000000000000');
    const onFirst = put
      .map((r, n) => ({ ...r, n }))
      .filter((r) => r.shardId === 'shardId-000000000000')
      .sort((a, b) => (BigInt(a.sequenceNumber) < BigInt(b.sequenceNumber) ? -1 : 1));
    expect(onFirst.length).toBeGreaterThan(20);
    const checkpointed = onFirst[9]!; // the KCL app processed the first ten records of shard 0

    await new LeaseStore(dynamo, names.table).ensureTable();
    // Exactly what DynamoDBMultiStreamLeaseSerializer.toDynamoRecord writes (KCL 3.x): the
    // base lease attributes, `streamName` = the serialized StreamIdentifier, `shardId`,
    // and KCL 3's throughputKBps and entityType. Its owner stopped renewing (a stopped app).
    const kclLease = {
      leaseKey: `${identifier}:shardId-000000000000`,
      leaseCounter: 17,
      leaseOwner: 'kcl-worker-1',
      ownerSwitchesSinceCheckpoint: 0,
      checkpoint: checkpointed.sequenceNumber,
      checkpointSubSequenceNumber: 0,
      startingHashKey: first?.HashKeyRange?.StartingHashKey,
      endingHashKey: first?.HashKeyRange?.EndingHashKey,
      throughputKBps: 3.5,
      entityType: 'LEASE',
      streamName: identifier,
      shardId: 'shardId-000000000000',
    };
    // KCL 3.5 keeps its stream registry in the lease table too (StreamInfo, entityType STREAM).
    const streamInfo = { leaseKey: identifier, entityType: 'STREAM', streamId: 'a1b2c3' };
    for (const item of [kclLease, streamInfo])
      await dynamo.send(new PutCommand({ TableName: names.table, Item: item }));

    const configObject = {
      ...testRelayConfig(names, {
        leases: { failoverMs: 3000, takeIntervalMs: 1000, shardSyncIntervalMs: 2000 },
        log: { level: 'error' },
      }),
      stream: undefined,
      streams: [{ name: names.stream, initialPosition: 'TRIM_HORIZON' }],
    };
    const config = validateConfig(configObject, 'test', {});
    // The operator's view of the KCL's table: lease keys, and the lag of each shard read
    // from its own stream (`?` if the lease were not matched to a configured stream).
    const listed = await runCli(['leases', '--config', writeConfig(configObject)]);
    expect(listed.code).toBe(0);
    expect(listed.output).toMatch(
      new RegExp(
        `^${identifier}:shardId-000000000000\\s+kcl-worker-1\\s+17\\s+${checkpointed.sequenceNumber}/0\\s+\\d+s\\s`,
        'm',
      ),
    );
    // KCL 3.5's stream-info row is no lease.
    expect(listed.output).not.toMatch(new RegExp(`^${identifier}\\s`, 'm'));
    const relay = new Relay(config, { log: createLogger('error'), clients: test.clients });
    await relay.start();
    try {
      const lastOf = (shardId: string) =>
        put
          .filter((r) => r.shardId === shardId)
          .reduce((a, b) => (BigInt(a.sequenceNumber) > BigInt(b.sequenceNumber) ? a : b));
      const rows = await eventually(
        'both leases checkpointed at their last records',
        async () => {
          const items = await scanTable(names.table);
          const leases = items.filter((item) => item.entityType !== 'STREAM');
          const done = ['shardId-000000000000', 'shardId-000000000001'].every((shardId) => {
            const row = leases.find((item) => item.shardId === shardId);
            return row?.checkpoint === lastOf(shardId).sequenceNumber;
          });
          return done ? items : undefined;
        },
        60_000,
        500,
      );
      const lines = await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket);
      const deliveredN = new Set(lines.map((l) => l.original.n));
      // Shard 0 resumed after the KCL's checkpoint: its first ten records are not read again.
      for (const record of onFirst.slice(0, 10)) expect(deliveredN.has(record.n)).toBe(false);
      for (const record of onFirst.slice(10)) expect(deliveredN.has(record.n)).toBe(true);
      // Shard 1 had no lease: created under the same identifier (the KCL app's epoch), read
      // from TRIM_HORIZON.
      const onSecond = put
        .map((r, n) => ({ ...r, n }))
        .filter((r) => r.shardId === 'shardId-000000000001');
      for (const record of onSecond) expect(deliveredN.has(record.n)).toBe(true);

      expect(rows).toHaveLength(3);
      expect(rows.find((row) => row.leaseKey === identifier)).toEqual(streamInfo);
      const leases = rows.filter((row) => row.entityType !== 'STREAM');
      for (const row of leases) readAsKclMultiStreamLease(row);
      expect(leases.map((row) => row.leaseKey).sort()).toEqual([
        `${identifier}:shardId-000000000000`,
        `${identifier}:shardId-000000000001`,
      ]);
      const continued = leases.find((row) => row.leaseKey === kclLease.leaseKey);
      expect(continued).toMatchObject({
        streamName: identifier,
        shardId: 'shardId-000000000000',
        throughputKBps: 3.5, // attributes we do not know are left as the KCL wrote them
        entityType: 'LEASE',
        leaseOwner: relay.workerId,
      });
      expect(Number(continued?.leaseCounter)).toBeGreaterThan(17);
    } finally {
      await relay.stop();
    }
    // Released on stop, as the KCL expects a lease to be left for the next owner.
    const after = (await scanTable(names.table)).filter((row) => row.entityType !== 'STREAM');
    for (const row of after) expect(row.leaseOwner).toBeUndefined();
  });

  it('enhanced fan-out reads each stream through its own registered consumer', async () => {
    const { kinesis } = test.clients;
    const names = {
      stream: uniqueName('efo-a'),
      table: uniqueName('efo-multi-leases'),
      bucket: uniqueName('efo-multi-archive'),
    };
    const other = uniqueName('efo-b');
    await createStream(kinesis, names.stream, 1);
    await createStream(kinesis, other, 1);
    await createBucket(test.clients, names.bucket);
    const config = validateConfig(
      {
        ...testRelayConfig(names, {
          consumer: { mode: 'fanout', fanout: { protocol: 'http1.1' } },
          log: { level: 'error' },
        }),
        stream: undefined,
        streams: [{ name: names.stream }, { name: other }],
      },
      'test',
      {},
    );
    const relay = new Relay(config, { log: createLogger('error'), clients: test.clients });
    await relay.start();
    try {
      const puts = {
        [names.stream]: await putAll(
          kinesis,
          names.stream,
          Array.from({ length: 200 }, (_, n) => numberedRecord(n)),
        ),
        [other]: await putAll(
          kinesis,
          other,
          Array.from({ length: 200 }, (_, n) => numberedRecord(1000 + n)),
        ),
      };
      const lines = await eventually(
        'both streams delivered',
        async () => {
          const delivered = await readJsonLines<ArchivedLine & { kinesis: { stream: string } }>(
            test.clients.s3,
            names.bucket,
          );
          const seen = new Set(delivered.map((l) => `${l.kinesis.stream}/${l.original.n}`));
          const all = Object.entries(puts).every(([stream, put]) =>
            put.every((_, i) => seen.has(`${stream}/${stream === other ? 1000 + i : i}`)),
          );
          return all ? delivered : undefined;
        },
        90_000,
        1000,
      );
      expect(new Set(lines.map((l) => l.kinesis.stream))).toEqual(new Set([names.stream, other]));
    } finally {
      await relay.stop();
    }
  });
});
