import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/decode/index.js';
import { userRecord } from '../../src/decode/fixtures/samples.js';
import { createStream, putAll, type OutgoingRecord } from '../../src/demo/producer.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import { directoryDeadLetter, readDeadLetters } from '../support/dead-letters.js';
import { readJsonLines, readObjects } from '../support/s3-reader.js';
import {
  createBucket,
  waitForCheckpoints,
  startTestStack,
  uniqueName,
  type TestStack,
} from '../support/stack.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';
import { testRelayConfig, type ArchivedLine } from '../support/relay-config.js';
import { lastPositionPerShard, plannedRecords } from '../support/records.js';

/**
 * consumer.workerThreads: 2 end to end on the emulators (kinesis-local → relay process →
 * s3rver, leases in dynalite): every record delivered once to a JSON Lines and a CSV sink,
 * undecodable records dead-lettered with the main thread's error text, every shard
 * checkpointed at its last record.
 */
describe('worker threads: Kinesis → decode on 2 threads → S3', () => {
  let test: TestStack;
  const names = {
    stream: uniqueName('threads'),
    table: uniqueName('threads-leases'),
    bucket: uniqueName('threads-archive'),
  };

  beforeAll(async () => {
    test = await startTestStack();
    await createStream(test.clients.kinesis, names.stream, 4);
    await createBucket(test.clients, names.bucket);
  });
  afterAll(async () => {
    await test?.stop();
  });

  it('delivers every record once, dead-letters the poison ones and checkpoints each shard at its last record', async () => {
    const planned = plannedRecords(0, 8000, { aggregatedShare: 0.5, perAggregate: 10 });
    // Undecodable records in the middle of the stream (and so of pages).
    const poison = (n: number): OutgoingRecord => ({
      partitionKey: `poison-${n}`,
      data: Buffer.from(`{"broken": ${n}`),
    });
    const records = [...planned.records];
    const userCounts = [...planned.userCounts];
    for (const at of [100, 2000, 4000]) {
      records.splice(at, 0, poison(at));
      userCounts.splice(at, 0, 1);
    }
    const results = await putAll(test.clients.kinesis, names.stream, records);
    const expected = lastPositionPerShard(results, userCounts);
    const deadLetter = directoryDeadLetter();
    const config = testRelayConfig(names, {
      consumer: { idleTimeBetweenReadsMs: 200, workerThreads: 2, maxRecordsPerCall: 1000 },
      deadLetter,
    });
    config.sinks.push({
      ...config.sinks[0]!,
      name: 'csv',
      format: 'csv',
      prefix: 'csv/',
    } as (typeof config.sinks)[number]);

    const relay = startRelayProcess(['run', '--config', writeConfig(config)]);
    await waitForCheckpoints(test.clients, names.table, expected, 180_000);
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    // A dead-letter destination no longer keeps pages from going whole: each chunk carries
    // its events' records (sinks/kept-records.ts).
    expect(relay.output()).toContain(
      'reading, decoding and encoding whole pages on worker threads',
    );
    expect(relay.output()).not.toContain('lease lost');

    const lines = await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket);
    const numbers = lines.map((line) => line.original.n).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 8000 }, (_, n) => n));
    const csv = await readObjects(test.clients.s3, names.bucket, 'csv/');
    const csvRows = csv.flatMap((object) => object.text.split('\n').filter(Boolean).slice(1));
    expect(csvRows).toHaveLength(8000);

    const entries = readDeadLetters(deadLetter.path);
    expect(entries.map((entry) => entry.partitionKey).sort()).toEqual([
      'poison-100',
      'poison-2000',
      'poison-4000',
    ]);
    const decoder = createDecoder('auto');
    for (const entry of entries) {
      const n = Number(entry.partitionKey.slice('poison-'.length));
      const put = results[records.findIndex((r) => r.partitionKey === `poison-${n}`)]!;
      expect(entry).toMatchObject({
        reason: 'decode_failed',
        shardId: put.shardId,
        sequenceNumber: put.sequenceNumber,
        subSequenceNumber: 0,
        data: Buffer.from(poison(n).data).toString('base64'),
      });
      const local = decoder.decode(userRecord(poison(n).data));
      expect(local.ok).toBe(false);
      expect(entry.error).toBe(local.ok ? null : local.error);
    }

    const leases = await new LeaseStore(test.clients.dynamo, names.table).listLeases();
    expect(leases).toHaveLength(4);
    for (const lease of leases) expect(lease.checkpoint).toEqual(expected.get(lease.leaseKey));
  });
});
