import { describe, expect, it } from 'vitest';
import { Relay } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import { comparePositions, type RecordPosition } from '../../src/core/record.js';
import { isSentinel } from '../../src/core/checkpoint.js';
import { startS3rver } from '../../src/demo/emulators.js';
import { createStream, putAll } from '../../src/demo/producer.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { readJsonLines } from '../support/s3-reader.js';
import {
  createBucket,
  eventually,
  useTestStack,
  uniqueName,
  waitForCheckpoints,
  type TestStack,
} from '../support/stack.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';
import { testRelayConfig, type ArchivedLine } from '../support/relay-config.js';
import { lastPositionPerShard, plannedRecords } from '../support/records.js';

function positionOf(line: ArchivedLine): RecordPosition {
  return {
    sequenceNumber: line.kinesis.sequence_number,
    subSequenceNumber: line.kinesis.sub_sequence_number,
  };
}

async function checkpoints(
  test: TestStack,
  table: string,
): Promise<Map<string, RecordPosition | null>> {
  const leases = await new LeaseStore(test.clients.dynamo, table).listLeases();
  return new Map(
    leases.map((lease) => [lease.leaseKey, isSentinel(lease.checkpoint) ? null : lease.checkpoint]),
  );
}

describe('nothing is lost when the relay crashes or S3 goes away', () => {
  const test = useTestStack();

  it('kill -9 mid-stream, restart: every record present, duplicates only after the checkpoint', async () => {
    const names = {
      stream: uniqueName('crash'),
      table: uniqueName('crash-leases'),
      bucket: uniqueName('crash-archive'),
    };
    await createStream(test.clients.kinesis, names.stream, 4);
    await createBucket(test.clients, names.bucket);
    const planned = plannedRecords(0, 8000, { aggregatedShare: 0.5, perAggregate: 8 });
    const results = await putAll(test.clients.kinesis, names.stream, planned.records);
    // Small batches and a slow checkpoint, so the kill lands between uploads and checkpoints.
    const config = testRelayConfig(names, {
      checkpoint: { intervalMs: 1500 },
      // Short failover: the restarted worker (a new worker id) takes the dead one's leases.
      leases: { failoverMs: 4000, takeIntervalMs: 1000, shardSyncIntervalMs: 5000 },
      consumer: { idleTimeBetweenReadsMs: 200, maxRecordsPerCall: 100 },
    });
    (config.sinks[0] as { buffer: object }).buffer = {
      maxRecords: 300,
      maxBytes: 1_048_576,
      maxAgeMs: 300,
    };
    const configPath = writeConfig(config);

    const first = startRelayProcess(['run', '--config', configPath]);
    await eventually(
      'some records delivered',
      async () => {
        const delivered = (await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket)).length;
        return delivered >= 1000 ? delivered : undefined;
      },
      60_000,
      200,
    );
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const atKill = await checkpoints(test, names.table);

    const second = startRelayProcess(['run', '--config', configPath]);
    await waitForCheckpoints(
      test.clients,
      names.table,
      lastPositionPerShard(results, planned.userCounts),
    );
    await eventually('the second relay to be up', async () =>
      second.output().includes('kinesis-relay starting') ? true : undefined,
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const lines = await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket);

    const seen = new Map<number, number>();
    for (const line of lines) seen.set(line.original.n, (seen.get(line.original.n) ?? 0) + 1);
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 8000 }, (_, n) => n),
    );
    const duplicates = lines.filter((line) => (seen.get(line.original.n) ?? 0) > 1);
    for (const line of duplicates) {
      // A record written twice was past its shard's checkpoint when the first worker died.
      const checkpoint = atKill.get(line.kinesis.shard_id) ?? null;
      if (checkpoint) expect(comparePositions(positionOf(line), checkpoint)).toBeGreaterThan(0);
    }
    const twice = [...seen.values()].filter((count) => count > 1).length;
    console.log(
      `kill -9: ${twice} of 8,000 records written more than once (the unacknowledged tail), none lost`,
    );
  });

  it('an S3 outage holds the checkpoint back, and everything lands after recovery', async () => {
    const names = {
      stream: uniqueName('outage'),
      table: uniqueName('outage-leases'),
      bucket: uniqueName('outage-archive'),
    };
    // Its own S3 server, so this test can stop and restart it on the same port and data.
    const s3 = await startS3rver();
    const env = { ...process.env, AWS_ENDPOINT_URL_S3: s3.endpoint };
    const previousEndpoint = process.env.AWS_ENDPOINT_URL_S3;
    process.env.AWS_ENDPOINT_URL_S3 = s3.endpoint;
    const { createAwsClients, destroyAwsClients } = await import('../../src/kinesis/clients.js');
    const clients = createAwsClients({ region: 'us-east-1', env });
    let relay: Relay | undefined;
    let restarted: Awaited<ReturnType<typeof startS3rver>> | undefined;
    try {
      await createStream(test.clients.kinesis, names.stream, 2);
      await createBucket(clients, names.bucket);
      const config = validateConfig(
        testRelayConfig(names, { log: { level: 'error' } }),
        'test',
        {},
      );
      relay = new Relay(config, { log: createLogger('error'), clients });
      await relay.start();

      await putAll(
        test.clients.kinesis,
        names.stream,
        plannedRecords(0, 1000, { aggregatedShare: 0, perAggregate: 1 }).records,
      );
      await eventually('the first 1,000 records', async () => {
        const n = (await readJsonLines<ArchivedLine>(clients.s3, names.bucket)).length;
        return n >= 1000 ? n : undefined;
      });
      const delivered = await readJsonLines<ArchivedLine>(clients.s3, names.bucket);
      const lastDelivered = new Map<string, RecordPosition>();
      for (const line of delivered) {
        const current = lastDelivered.get(line.kinesis.shard_id);
        if (!current || comparePositions(positionOf(line), current) > 0)
          lastDelivered.set(line.kinesis.shard_id, positionOf(line));
      }

      await s3.stop();
      await putAll(
        test.clients.kinesis,
        names.stream,
        plannedRecords(1000, 1000, { aggregatedShare: 0, perAggregate: 1 }).records,
      );
      // The relay reads the new records and fails to upload them, for several checkpoint intervals.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const duringOutage = await checkpoints(test, names.table);
      for (const [shard, checkpoint] of duringOutage) {
        const last = lastDelivered.get(shard);
        expect(checkpoint).not.toBeNull();
        if (checkpoint && last) expect(comparePositions(checkpoint, last)).toBeLessThanOrEqual(0);
      }

      restarted = await startS3rver({ port: s3.port, directory: s3.directory });
      const lines = await eventually('all 2,000 records after S3 is back', async () => {
        const found = await readJsonLines<ArchivedLine>(clients.s3, names.bucket);
        return new Set(found.map((line) => line.original.n)).size >= 2000 ? found : undefined;
      });
      expect(new Set(lines.map((line) => line.original.n)).size).toBe(2000);
      expect(await relay.stop()).toBe(true);
      relay = undefined;
      const after = await checkpoints(test, names.table);
      for (const [shard, checkpoint] of after) {
        const before = duringOutage.get(shard);
        if (checkpoint && before) expect(comparePositions(checkpoint, before)).toBeGreaterThan(0);
      }
    } finally {
      await relay?.stop();
      destroyAwsClients(clients);
      await restarted?.stop();
      await s3.stop();
      process.env.AWS_ENDPOINT_URL_S3 = previousEndpoint;
    }
  });
});
