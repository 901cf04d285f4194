import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sequenceNumberAt } from '../../../bench/kinesis-endpoint/record-template.js';
import { LeaseStore } from '../../../src/leases/lease-store.js';
import { startHttpReceiver, type HttpReceiver } from '../../support/http-receiver.js';
import { writeConfig } from '../../support/relay-process.js';
import { testRelayConfig } from '../../support/relay-config.js';
import { eventually, uniqueName } from '../../support/stack.js';
import { startBenchStack, type BenchStack } from '../support/bench-stack.js';
import { reportScenario } from '../support/report.js';
import { tally, type Delivered } from '../support/tally.js';
import { startWorker, stopWorkers, type Worker } from '../support/workers.js';

const SHARDS = 2;
const RECORDS_PER_SHARD = 2000;
/** Positions below this are past the retention period. */
const TRIM_HORIZON = 800;
/** Each shard's checkpoint: a record that has been trimmed since (gosoline #1124). */
const CHECKPOINT_AT = 300;

interface WebhookDocument {
  readonly kinesis: { shard_id: string; sequence_number: string };
}

/*
 * A checkpoint older than the stream's retention (the relay was stopped for longer than
 * it): the documented choice is to resume at TRIM_HORIZON, with a loud log line and a
 * metric, and never a crash loop. How AWS answers an iterator request for a trimmed
 * sequence number is played both ways by the bench endpoint: an InvalidArgumentException,
 * or an iterator at the trim horizon with the records in between silently gone.
 */
describe.each(['error', 'trim-horizon'] as const)(
  'chaos: checkpoint older than the retention (GetShardIterator answers: %s)',
  (mode) => {
    let bench: BenchStack;
    const stream = uniqueName('chaos-trim');
    beforeAll(async () => {
      bench = await startBenchStack({
        streamName: stream,
        shardCount: SHARDS,
        recordsPerShard: RECORDS_PER_SHARD,
        recordBytes: 200,
        templateRecords: 500,
        trimmedBelow: TRIM_HORIZON,
        trimmedIterator: mode,
      });
    });
    afterAll(async () => {
      await bench?.stop();
    });

    it('resumes at TRIM_HORIZON with a loud log line and a metric, never a crash loop', async () => {
      const table = uniqueName('chaos-trim-leases');
      const store = new LeaseStore(bench.dynamoClient, table);
      await store.ensureTable();
      const span = 2n ** 128n / BigInt(SHARDS);
      for (let shard = 0; shard < SHARDS; shard += 1) {
        await store.createLeaseIfAbsent({
          leaseKey: `shardId-${String(shard).padStart(12, '0')}`,
          leaseOwner: null,
          leaseCounter: 1,
          checkpoint: {
            sequenceNumber: sequenceNumberAt(CHECKPOINT_AT, bench.kinesis.template.size),
            subSequenceNumber: 0,
          },
          ownerSwitchesSinceCheckpoint: 0,
          parentShardIds: [],
          childShardIds: [],
          startingHashKey: String(span * BigInt(shard)),
          endingHashKey: String(
            shard === SHARDS - 1 ? 2n ** 128n - 1n : span * BigInt(shard + 1) - 1n,
          ),
        });
      }
      const receiver: HttpReceiver = await startHttpReceiver(() => ({ status: 200 }));
      const config = testRelayConfig(
        { stream, table, bucket: 'unused' },
        {
          sinks: [
            {
              name: 'hook',
              type: 'webhook',
              url: receiver.url,
              buffer: { maxRecords: 200, maxBytes: 1_048_576, maxAgeMs: 200 },
            },
          ],
          checkpoint: { intervalMs: 500 },
        },
      );
      const workers: Worker[] = [];
      try {
        const worker = await startWorker(writeConfig(config), bench.relayEnv());
        workers.push(worker);
        const startedAt = Date.now();
        const put = bench.records(TRIM_HORIZON);
        const accepted = (): Delivered[] =>
          receiver.requests
            .flatMap((r) => JSON.parse(r.body.toString()) as WebhookDocument[])
            .map((d) => ({
              shardId: d.kinesis.shard_id,
              sequenceNumber: d.kinesis.sequence_number,
              n: 0,
            }));
        let completeAt: number | null = null;
        await eventually(
          'every record from the trim horizon on delivered',
          async () => {
            const seen = new Set(accepted().map((d) => `${d.shardId}/${d.sequenceNumber}`));
            return put.every((r) => seen.has(`${r.shardId}/${r.sequenceNumber}`))
              ? (completeAt = Date.now())
              : undefined;
          },
          30_000,
          250,
        ).catch(() => undefined);
        // Let a crash loop, if there is one, show itself.
        await new Promise((resolve) => setTimeout(resolve, 2000));

        const output = worker.relay.output();
        const loud = output
          .split('\n')
          .filter((line) => /"level":(40|50|60)/.test(line) && /trim|retention/i.test(line));
        const metricsText = await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)
          .then((r) => r.text())
          .catch(() => '');
        const trimMetric = metricsText
          .split('\n')
          .filter((line) => !line.startsWith('#') && /trim/i.test(line.split(/[{ ]/)[0] ?? ''))
          .find((line) => Number(line.slice(line.lastIndexOf(' ') + 1)) > 0);
        const failures = output
          .split('\n')
          .filter((l) => /shard consumer failed|backing off/.test(l)).length;
        const alive = worker.relay.child.exitCode === null;
        const counts = tally(put, accepted());
        const pass = counts.lost === 0 && loud.length > 0 && trimMetric !== undefined && alive;
        reportScenario(`04-trimmed-checkpoint-${mode}`, {
          scenario: `checkpoint older than the retention; GetShardIterator answers ${mode === 'error' ? 'InvalidArgumentException' : 'an iterator at the trim horizon'}`,
          put: counts.put,
          delivered: counts.delivered,
          duplicates: counts.duplicates,
          lost: counts.lost,
          recoveryMs: completeAt === null ? null : completeAt - startedAt,
          dynamoRetried: 0,
          kinesisRetried: bench.kinesis.counters.trimmedRequests,
          pass,
          notes:
            `"put" = records from the trim horizon on; ${loud.length} warn/error lines about the trim; ` +
            `metric: ${trimMetric ?? 'none'}; ${failures} read failures logged; process ${alive ? 'running' : 'exited'}`,
        });

        expect(counts.lost, 'records from the trim horizon on not delivered').toBe(0);
        expect(alive).toBe(true);
        expect(loud, 'a warn/error log line about the trimmed checkpoint').not.toEqual([]);
        expect(trimMetric, 'a metric counting the trimmed checkpoints').toBeDefined();
      } finally {
        await stopWorkers(workers);
        await receiver.close();
      }
    });
  },
);
