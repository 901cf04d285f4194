import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpReceiver, type HttpReceiver } from '../../support/http-receiver.js';
import { writeConfig } from '../../support/relay-process.js';
import { testRelayConfig } from '../../support/relay-config.js';
import { eventually, uniqueName } from '../../support/stack.js';
import { startBenchStack, type BenchStack } from '../support/bench-stack.js';
import { reportScenario } from '../support/report.js';
import { tally, type Delivered } from '../support/tally.js';
import { startWorker, stopWorkers, type Worker } from '../support/workers.js';

const SHARDS = 2;
const RECORDS_PER_SHARD = 3000;
const ITERATOR_LIFETIME_MS = 2000;
/** Longer than three iterator lifetimes. */
const SINK_DOWN_MS = 7000;

interface WebhookDocument {
  readonly kinesis: { shard_id: string; sequence_number: string };
}

/*
 * The sink is down longer than a shard iterator lives (redpanda-data/connect #735, #139;
 * influxdata/telegraf #19508). The relay holds its iterator while backpressure stops
 * reading; once the sink is back, GetRecords answers ExpiredIteratorException and the
 * relay must fetch a new iterator at the right position: nothing lost, nothing re-read
 * from the start. The bench endpoint's iterators live 2 s here (AWS: 5 minutes; the
 * kinesis-local run of 6 real minutes is in test/chaos/long).
 */
describe('chaos: sink down longer than the iterator lifetime (bench endpoint)', () => {
  let bench: BenchStack;
  const stream = uniqueName('chaos-iter');
  beforeAll(async () => {
    bench = await startBenchStack({
      streamName: stream,
      shardCount: SHARDS,
      recordsPerShard: RECORDS_PER_SHARD,
      recordBytes: 300,
      templateRecords: 500,
      iteratorLifetimeMs: ITERATOR_LIFETIME_MS,
    });
  });
  afterAll(async () => {
    await bench?.stop();
  });

  it('an iterator that expired during a sink outage is re-fetched at the right position: nothing lost, nothing re-read from the start', async () => {
    let downUntil: number | null = null;
    const receiver: HttpReceiver = await startHttpReceiver(() => {
      downUntil ??= Date.now() + SINK_DOWN_MS;
      return Date.now() < downUntil ? { status: 503, body: '{"error":"down"}' } : { status: 200 };
    });
    const config = testRelayConfig(
      { stream, table: uniqueName('chaos-iter-leases'), bucket: 'unused' },
      {
        consumer: { idleTimeBetweenReadsMs: 200, maxRecordsPerCall: 200 },
        sinks: [
          {
            name: 'hook',
            type: 'webhook',
            url: receiver.url,
            timeoutMs: 5000,
            maxConcurrency: 2,
            buffer: { maxRecords: 100, maxBytes: 1_048_576, maxAgeMs: 200 },
            retry: { initialDelayMs: 100, maxDelayMs: 500, maxElapsedMs: 600_000 },
            // Small, so backpressure stops the shard loops while the sink is down.
            maxInFlightBytes: 200_000,
          },
        ],
        checkpoint: { intervalMs: 500 },
      },
    );
    const workers: Worker[] = [];
    try {
      workers.push(await startWorker(writeConfig(config), bench.relayEnv()));
      const put = bench.records();
      const accepted = (): Delivered[] =>
        receiver.requests
          .filter((r) => r.status === 200)
          .flatMap((r) => JSON.parse(r.body.toString()) as WebhookDocument[])
          .map((d) => ({
            shardId: d.kinesis.shard_id,
            sequenceNumber: d.kinesis.sequence_number,
            n: 0,
          }));
      let completeAt: number | null = null;
      await eventually(
        'every record delivered',
        async () => {
          const seen = new Set(accepted().map((d) => `${d.shardId}/${d.sequenceNumber}`));
          return put.every((r) => seen.has(`${r.shardId}/${r.sequenceNumber}`))
            ? (completeAt = Date.now())
            : undefined;
        },
        60_000,
        250,
      ).catch(() => undefined);

      const counts = tally(put, accepted());
      const { expired, reread } = bench.kinesis.counters;
      const sinkBackAt = downUntil ?? Date.now();
      // Each new iterator starts AT the last record handed over (skipped): one re-read each.
      const rereadBound = expired;
      const pass = counts.lost === 0 && expired > 0 && reread <= rereadBound;
      reportScenario('03-iterator-expiry-bench', {
        scenario: `sink down ${SINK_DOWN_MS / 1000} s > iterator lifetime ${ITERATOR_LIFETIME_MS / 1000} s (bench endpoint); 1 worker, 2 shards`,
        put: counts.put,
        delivered: counts.delivered,
        duplicates: counts.duplicates,
        lost: counts.lost,
        recoveryMs: completeAt === null ? null : Math.max(0, completeAt - sinkBackAt),
        dynamoRetried: 0,
        kinesisRetried: expired,
        pass,
        notes: `${expired} ExpiredIteratorException answered; ${reread} records served twice by the endpoint (bound ${rereadBound}: one per new iterator)`,
      });

      expect(expired, 'the scenario made an iterator expire').toBeGreaterThan(0);
      expect(counts.lost, `lost records, e.g. ${counts.lostSample.join(', ')}`).toBe(0);
      expect(reread).toBeLessThanOrEqual(rereadBound);
    } finally {
      await stopWorkers(workers);
      await receiver.close();
    }
  });
});
