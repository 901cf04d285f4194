import { describe, expect, it } from 'vitest';
import { createStream } from '../../../src/demo/producer.js';
import { createBucket, uniqueName } from '../../support/stack.js';
import { useChaosStack } from '../support/chaos-stack.js';
import { RateProducer } from '../support/rate-producer.js';
import { reportScenario } from '../support/report.js';
import { tally } from '../support/tally.js';
import {
  chaosConfig,
  countLogLines,
  startWorker,
  stopWorkers,
  waitForArchive,
  type Worker,
} from '../support/workers.js';

/** kinesis-local's iterators live 5 real minutes, as AWS's do. */
const SINK_DOWN_MS = 6 * 60_000;

/*
 * The sink-outage-longer-than-an-iterator scenario for real: S3 answers SlowDown to every
 * upload for 6 minutes while records flow, so backpressure holds each shard's iterator
 * past kinesis-local's 5-minute lifetime. Afterwards the relay must fetch new iterators at
 * the right position: nothing lost, nothing re-read from the start (no duplicate).
 */
describe('chaos: S3 down 6 minutes, longer than kinesis-local iterators live', () => {
  const stack = useChaosStack(735);

  it('iterators that expired during a 6-minute sink outage are re-fetched at the right position', async () => {
    const names = {
      stream: uniqueName('chaos-iter6'),
      table: uniqueName('chaos-iter6-leases'),
      bucket: uniqueName('chaos-iter6-archive'),
    };
    await createStream(stack.clients.kinesis, names.stream, 2);
    await createBucket(stack.clients, names.bucket);
    const configPath = chaosConfig(names, {
      failoverMs: 10_000,
      checkpointIntervalMs: 1000,
      overrides: { consumer: { idleTimeBetweenReadsMs: 200, maxRecordsPerCall: 100 } },
      // Pause the shards early (little in flight), with retries that outlast the outage.
      sink: {
        maxInFlightBytes: 50_000,
        retry: { initialDelayMs: 200, maxDelayMs: 5000, maxElapsedMs: 30 * 60_000 },
      },
    });

    const workers: Worker[] = [];
    const producer = new RateProducer(stack.clients.kinesis, names.stream, 20);
    try {
      workers.push(await startWorker(configPath, stack.relayEnv()));
      producer.start();
      await new Promise((resolve) => setTimeout(resolve, 5000));
      stack.s3Proxy.inject({
        match: /^(PUT|POST) /,
        fault: { kind: 'throttle', error: 'SlowDown' },
        forMs: SINK_DOWN_MS,
      });
      await new Promise((resolve) => setTimeout(resolve, SINK_DOWN_MS));
      stack.clearFaults();
      const healedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const put = await producer.stop();
      const { delivered, completeAt } = await waitForArchive(
        stack.clients.s3,
        names.bucket,
        put,
        180_000,
      );
      const counts = tally(put, delivered);
      const expired = countLogLines(workers, 'shard iterator expired');
      const pass = counts.lost === 0 && counts.duplicates === 0 && expired > 0;
      reportScenario('08-iterator-expiry-kinesis-local', {
        scenario: 'S3 SlowDown 6 min > 5-min iterator lifetime (kinesis-local); 1 worker, 2 shards',
        put: counts.put,
        delivered: counts.delivered,
        duplicates: counts.duplicates,
        lost: counts.lost,
        recoveryMs: completeAt === null ? null : completeAt - healedAt,
        dynamoRetried: stack.dynamoProxy.faultCount(),
        kinesisRetried: stack.kinesisProxy.faultCount(),
        s3Retried: stack.s3Proxy.faultCount(),
        pass,
        notes: `${expired} "shard iterator expired" log lines; recovery = S3 back → all delivered`,
      });

      expect(expired, 'the outage outlived an iterator').toBeGreaterThan(0);
      expect(counts.lost, `lost records, e.g. ${counts.lostSample.join(', ')}`).toBe(0);
      expect(counts.duplicates, 'records re-read').toBe(0);
    } finally {
      await producer.stop().catch(() => undefined);
      await stopWorkers(workers);
    }
  });
});
