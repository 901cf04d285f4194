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

const GET_RECORDS = 'Kinesis_20131202.GetRecords';
const GET_SHARD_ITERATOR = 'Kinesis_20131202.GetShardIterator';
const PRODUCE_MS = 20_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/*
 * Kinesis misbehaving while records flow: GetRecords 5xx bursts, throttling in Kinesis'
 * own wire format, reset connections, and one GetRecords call that never answers. Nothing
 * may be lost, the lag must come back to zero, and the hung call must cost one timeout
 * (the relay gives up on it itself), never a stuck shard.
 */
describe('chaos: Kinesis faults', () => {
  const stack = useChaosStack(1813);

  it('GetRecords 5xx bursts, throttling, resets and a hung call: nothing lost, lag recovers, the hang costs one timeout', async () => {
    const names = {
      stream: uniqueName('chaos-kin'),
      table: uniqueName('chaos-kin-leases'),
      bucket: uniqueName('chaos-kin-archive'),
    };
    await createStream(stack.clients.kinesis, names.stream, 4);
    await createBucket(stack.clients, names.bucket);
    const configPath = chaosConfig(names, { failoverMs: 10_000, checkpointIntervalMs: 1000 });
    const workers: Worker[] = [];
    const producer = new RateProducer(stack.clients.kinesis, names.stream, 100);
    const proxy = stack.kinesisProxy;
    try {
      const worker = await startWorker(configPath, stack.relayEnv());
      workers.push(worker);
      await eventually(
        'the worker to read every shard',
        async () =>
          (await scrape(worker.metricsPort, 'kinesis_relay_leases_owned')) === 4 ? true : undefined,
        60_000,
        250,
      );
      producer.start();
      await sleep(2000);
      const hang = proxy.inject({ match: GET_RECORDS, fault: { kind: 'hang' }, times: 1 });
      const injectedAt = Date.now();
      const faults = [
        { match: GET_RECORDS, fault: { kind: 'status', status: 500 }, afterMs: 1000, forMs: 2000 },
        {
          match: GET_SHARD_ITERATOR,
          fault: { kind: 'throttle', error: 'LimitExceededException' },
          afterMs: 1000,
          times: 3,
        },
        { match: GET_RECORDS, fault: { kind: 'status', status: 503 }, afterMs: 5000, forMs: 2000 },
        {
          match: GET_RECORDS,
          fault: { kind: 'throttle', error: 'ProvisionedThroughputExceededException' },
          afterMs: 9000,
          forMs: 3000,
        },
        {
          match: GET_RECORDS,
          fault: { kind: 'reset' },
          afterMs: 13_000,
          forMs: 2000,
          probability: 0.5,
        },
      ] as const;
      for (const rule of faults) proxy.inject(rule);
      await sleep(PRODUCE_MS - 2000);
      const put = await producer.stop();
      const faultsEndedAt =
        injectedAt + Math.max(...faults.map((f) => f.afterMs + ('forMs' in f ? f.forMs : 0)));

      const { delivered, completeAt } = await waitForArchive(
        stack.clients.s3,
        names.bucket,
        put,
        60_000,
      );
      const hung = proxy.hungCalls[0];
      // The gauge of a stuck shard keeps its last value: only a complete delivery counts.
      const lagRecovered =
        completeAt !== null &&
        (await eventually(
          'millis behind latest back to 0 on every shard',
          async () =>
            (await scrape(worker.metricsPort, 'kinesis_relay_millis_behind_latest')) === 0
              ? true
              : undefined,
          30_000,
          500,
        ).then(
          () => true,
          () => false,
        ));
      stack.clearFaults();
      const counts = tally(put, delivered);
      const hangCost = hung?.abandonedAfterMs ?? null;
      const pass = counts.lost === 0 && lagRecovered && hang.hits === 1 && hangCost !== null;
      reportScenario('02-kinesis-faults', {
        scenario:
          'Kinesis GetRecords 5xx bursts, throttling, resets, one hung call; 1 worker, 4 shards',
        put: counts.put,
        delivered: counts.delivered,
        duplicates: counts.duplicates,
        lost: counts.lost,
        recoveryMs: completeAt === null ? null : Math.max(0, completeAt - faultsEndedAt),
        dynamoRetried: stack.dynamoProxy.faultCount(),
        kinesisRetried: proxy.faultCount(),
        s3Retried: stack.s3Proxy.faultCount(),
        pass,
        notes:
          `hung GetRecords abandoned by the relay after ${hangCost === null ? 'never' : `${(hangCost / 1000).toFixed(1)} s`}; ` +
          `GetRecords faults ${proxy.faultCount(GET_RECORDS)}, GetShardIterator ${proxy.faultCount(GET_SHARD_ITERATOR)}; ` +
          `lag back to 0: ${lagRecovered ? 'yes' : 'no'}`,
      });

      expect(counts.lost, `lost records, e.g. ${counts.lostSample.join(', ')}`).toBe(0);
      expect(lagRecovered).toBe(true);
      expect(hang.hits).toBe(1);
      // The relay ended the hung call itself (its timeout), and the shard went on.
      expect(hangCost).not.toBeNull();
    } finally {
      stack.clearFaults();
      await producer.stop().catch(() => undefined);
      await stopWorkers(workers);
    }
  });
});
