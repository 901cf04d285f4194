import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStream, putAll } from '../../src/demo/producer.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import { readJsonLines } from '../support/s3-reader.js';
import {
  createBucket,
  waitForCheckpoints,
  startTestStack,
  uniqueName,
  type TestStack,
} from '../support/stack.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';
import { testRelayConfig, type ArchivedLine } from '../support/relay-config.js';
import { lastPositionPerShard, numberedRecord, plannedRecords } from '../support/records.js';

/**
 * The whole loop on real emulators: kinesis-local → relay process → s3rver, with leases
 * and checkpoints in dynalite.
 */
describe('core loop: Kinesis → leases → S3', () => {
  let test: TestStack;
  const names = {
    stream: uniqueName('core'),
    table: uniqueName('core-leases'),
    bucket: uniqueName('core-archive'),
  };

  beforeAll(async () => {
    test = await startTestStack();
    await createStream(test.clients.kinesis, names.stream, 4);
    await createBucket(test.clients, names.bucket);
  });
  afterAll(async () => {
    await test?.stop();
  });

  const archived = () => readJsonLines<ArchivedLine>(test.clients.s3, names.bucket);

  it('delivers 20,000 records (some KPL-aggregated) over 4 shards and checkpoints each shard at its last record', async () => {
    const planned = plannedRecords(0, 20_000, { aggregatedShare: 0.6, perAggregate: 10 });
    const results = await putAll(test.clients.kinesis, names.stream, planned.records);
    const configPath = writeConfig(testRelayConfig(names));

    const expected = lastPositionPerShard(results, planned.userCounts);

    const started = Date.now();
    const relay = startRelayProcess(['run', '--config', configPath]);
    await waitForCheckpoints(test.clients, names.table, expected, 180_000);
    const elapsedS = (Date.now() - started) / 1000;
    const peakRss = relay.peakRssBytes();
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    expect(relay.output()).not.toContain('lease lost');
    console.log(
      `core loop: 20,000 records delivered and checkpointed in ${elapsedS.toFixed(1)} s from process start (${Math.round(20_000 / elapsedS)} records/s end to end); relay peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
    );
    const lines = await archived();

    const numbers = lines.map((line) => line.original.n).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 20_000 }, (_, n) => n));
    for (const line of lines.slice(0, 200)) {
      expect(line.original).toEqual(
        JSON.parse(Buffer.from(numberedRecord(line.original.n).data).toString()),
      );
    }
    const aggregatedLines = lines.filter((line) => line.kinesis.sub_sequence_number > 0);
    expect(aggregatedLines.length).toBeGreaterThan(10_000);

    const leases = await new LeaseStore(test.clients.dynamo, names.table).listLeases();
    expect(leases).toHaveLength(4);
    for (const lease of leases) {
      expect(lease.checkpoint).toEqual(expected.get(lease.leaseKey));
      expect(lease.leaseOwner).toBeNull(); // released on SIGTERM
    }
  });

  it('resumes from the checkpoint after a clean stop: no acknowledged batch is written twice', async () => {
    const before = (await archived()).length;
    expect(before).toBe(20_000);
    const extra = plannedRecords(20_000, 1000, { aggregatedShare: 0.5, perAggregate: 5 });
    const more = await putAll(test.clients.kinesis, names.stream, extra.records);

    const relay = startRelayProcess(['run', '--config', writeConfig(testRelayConfig(names))]);
    await waitForCheckpoints(
      test.clients,
      names.table,
      lastPositionPerShard(more, extra.userCounts),
    );
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    expect(relay.output()).not.toContain('lease lost');

    const lines = await archived();
    const numbers = lines.map((line) => line.original.n).sort((a, b) => a - b);
    expect(lines.length).toBe(21_000);
    expect(numbers).toEqual(Array.from({ length: 21_000 }, (_, n) => n));
  });
});
