import { describe, expect, it } from 'vitest';
import { createStream } from '../../../src/demo/producer.js';
import { createBucket, eventually, uniqueName } from '../../support/stack.js';
import { useChaosStack } from '../support/chaos-stack.js';
import { RateProducer } from '../support/rate-producer.js';
import { reportScenario } from '../support/report.js';
import { tally } from '../support/tally.js';
import {
  chaosConfig,
  scrape,
  startWorker,
  stopWorkers,
  waitForArchive,
  type Worker,
} from '../support/workers.js';

const DYNAMO_WRITE = /^DynamoDB_20120810\.UpdateItem$/;
const S3_UPLOAD = /^PUT \//;

/*
 * "Every AWS call of ours has a timeout, so a hang costs one timeout, never a stuck
 * shard": a DynamoDB lease write (a renewal or a checkpoint) and an S3 upload that never
 * get an answer. The relay must give up on each by itself and go on: nothing lost, the
 * worker keeps its leases. (The hung GetRecords is in kinesis-faults.test.ts.)
 */
describe('chaos: hung DynamoDB and S3 calls', () => {
  const stack = useChaosStack(1124);

  it('a hung lease write and a hung S3 upload each cost one timeout: nothing lost, no lease lost', async () => {
    const names = {
      stream: uniqueName('chaos-hang'),
      table: uniqueName('chaos-hang-leases'),
      bucket: uniqueName('chaos-hang-archive'),
    };
    await createStream(stack.clients.kinesis, names.stream, 2);
    await createBucket(stack.clients, names.bucket);
    // A 3 s idle timeout (the default is 30 s) so the scenario takes seconds: what is proven
    // is that the relay gives up by itself, not how long it waits.
    const configPath = chaosConfig(names, {
      failoverMs: 10_000,
      checkpointIntervalMs: 1000,
      overrides: { aws: { idleTimeoutMs: 3000 } },
    });
    const workers: Worker[] = [];
    const producer = new RateProducer(stack.clients.kinesis, names.stream, 50);
    try {
      const worker = await startWorker(configPath, stack.relayEnv());
      workers.push(worker);
      await eventually(
        'the worker to hold both shards',
        async () =>
          (await scrape(worker.metricsPort, 'kinesis_relay_leases_owned')) === 2 ? true : undefined,
        60_000,
        250,
      );
      producer.start();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const hungAt = Date.now();
      stack.dynamoProxy.inject({ match: DYNAMO_WRITE, fault: { kind: 'hang' }, times: 1 });
      stack.s3Proxy.inject({ match: S3_UPLOAD, fault: { kind: 'hang' }, times: 1 });
      await new Promise((resolve) => setTimeout(resolve, 8000));
      const put = await producer.stop();

      const { delivered, completeAt } = await waitForArchive(
        stack.clients.s3,
        names.bucket,
        put,
        60_000,
      );
      const dynamoHang = stack.dynamoProxy.hungCalls[0];
      const s3Hang = stack.s3Proxy.hungCalls[0];
      stack.clearFaults();
      const leaseLost = worker.relay.output().includes('"lease lost"');
      const counts = tally(put, delivered);
      const seconds = (ms: number | null | undefined) =>
        ms === null || ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`;
      const pass =
        counts.lost === 0 &&
        !leaseLost &&
        dynamoHang?.abandonedAfterMs !== null &&
        dynamoHang?.abandonedAfterMs !== undefined &&
        s3Hang?.abandonedAfterMs !== null &&
        s3Hang?.abandonedAfterMs !== undefined;
      reportScenario('02b-hung-dynamodb-s3-calls', {
        scenario: 'one hung DynamoDB UpdateItem and one hung S3 upload; 1 worker, 2 shards',
        put: counts.put,
        delivered: counts.delivered,
        duplicates: counts.duplicates,
        lost: counts.lost,
        recoveryMs: completeAt === null ? null : completeAt - hungAt,
        dynamoRetried: stack.dynamoProxy.faultCount(),
        kinesisRetried: stack.kinesisProxy.faultCount(),
        s3Retried: stack.s3Proxy.faultCount(),
        pass,
        notes:
          `hung UpdateItem abandoned by the relay after ${seconds(dynamoHang?.abandonedAfterMs)}, ` +
          `hung S3 PUT after ${seconds(s3Hang?.abandonedAfterMs)}; "lease lost": ${leaseLost ? 'yes' : 'no'}; ` +
          `recovery = hang → all delivered`,
      });

      expect(dynamoHang, 'a DynamoDB write was hung').toBeDefined();
      expect(s3Hang, 'an S3 upload was hung').toBeDefined();
      expect(counts.lost, `lost records, e.g. ${counts.lostSample.join(', ')}`).toBe(0);
      expect(
        dynamoHang?.abandonedAfterMs,
        'the relay gave up on the hung DynamoDB call',
      ).not.toBeNull();
      expect(s3Hang?.abandonedAfterMs, 'the relay gave up on the hung S3 upload').not.toBeNull();
      // One idle timeout (3 s here), not the 30 s default nor a stuck upload.
      expect(s3Hang?.abandonedAfterMs ?? Infinity).toBeLessThan(15_000);
      expect(leaseLost).toBe(false);
    } finally {
      stack.clearFaults();
      await producer.stop().catch(() => undefined);
      await stopWorkers(workers);
    }
  });
});
