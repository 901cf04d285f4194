import { describe, expect, it } from 'vitest';
import { createStream, putAll } from '../../../src/demo/producer.js';
import { directoryDeadLetter, readDeadLetters } from '../../support/dead-letters.js';
import { startHttpReceiver, type HttpReceiver } from '../../support/http-receiver.js';
import { numberedRecord } from '../../support/records.js';
import { writeConfig } from '../../support/relay-process.js';
import { testRelayConfig } from '../../support/relay-config.js';
import { eventually, uniqueName } from '../../support/stack.js';
import { useChaosStack } from '../support/chaos-stack.js';
import type { TimedPut } from '../support/rate-producer.js';
import { reportScenario } from '../support/report.js';
import { tally, type Delivered } from '../support/tally.js';
import { startWorker, stopWorkers, type Worker } from '../support/workers.js';

const RECORDS = 1000;
/** The receiver fails every request holding this record, forever (a 500 that never heals). */
const POISON = 137;
/** The receiver answers 413 to every request holding this record, even alone. */
const TOO_LARGE = 642;
const MAX_ELAPSED_MS = 5000;

interface WebhookDocument {
  readonly kinesis: { shard_id: string; sequence_number: string };
  readonly original: { n: number };
}

/*
 * One record a sink rejects forever and one it cannot take even alone. The shard must move
 * on within the configured retry bounds: both records dead-lettered, every other record
 * delivered, nothing else held back (Lambda's bisect-on-error, retry and age limits).
 */
describe('chaos: poison records', () => {
  const stack = useChaosStack(42);

  it('a record the webhook rejects forever and a 413 that stays 413 alone are dead-lettered; every other record is delivered', async () => {
    const names = { stream: uniqueName('chaos-poison'), table: uniqueName('chaos-poison-leases') };
    await createStream(stack.clients.kinesis, names.stream, 2);
    let firstRejectionAt: number | null = null;
    const receiver: HttpReceiver = await startHttpReceiver((request) => {
      const docs = JSON.parse(request.body.toString()) as WebhookDocument[];
      const numbers = new Set(docs.map((d) => d.original.n));
      if (numbers.has(POISON) || numbers.has(TOO_LARGE)) {
        firstRejectionAt ??= Date.now();
        return numbers.has(TOO_LARGE)
          ? { status: 413, body: '{"error":"payload too large"}' }
          : { status: 500, body: '{"error":"cannot process"}' };
      }
      return { status: 200, body: '{}' };
    });
    const deadLetter = directoryDeadLetter();
    const config = testRelayConfig(
      { ...names, bucket: 'unused' },
      {
        sinks: [
          {
            name: 'hook',
            type: 'webhook',
            url: receiver.url,
            format: 'json',
            timeoutMs: 5000,
            maxConcurrency: 2,
            buffer: { maxRecords: 100, maxBytes: 1_048_576, maxAgeMs: 200 },
            retry: { initialDelayMs: 100, maxDelayMs: 500, maxElapsedMs: MAX_ELAPSED_MS },
          },
        ],
        deadLetter,
        checkpoint: { intervalMs: 500 },
      },
    );
    const workers: Worker[] = [];
    try {
      workers.push(await startWorker(writeConfig(config), stack.relayEnv()));
      const records = Array.from({ length: RECORDS }, (_, n) => numberedRecord(n));
      const results = await putAll(stack.clients.kinesis, names.stream, records);
      const at = Date.now();
      const put: TimedPut[] = results.map((result, n) => ({
        n,
        partitionKey: records[n]?.partitionKey ?? '',
        shardId: result.shardId,
        sequenceNumber: result.sequenceNumber,
        at,
      }));
      const innocent = put.filter((r) => r.n !== POISON && r.n !== TOO_LARGE);

      const accepted = (): Delivered[] =>
        receiver.requests
          .filter((r) => r.status >= 200 && r.status < 300)
          .flatMap((r) => JSON.parse(r.body.toString()) as WebhookDocument[])
          .map((d) => ({
            shardId: d.kinesis.shard_id,
            sequenceNumber: d.kinesis.sequence_number,
            n: d.original.n,
          }));
      const deadLettered = () =>
        new Set(readDeadLetters(deadLetter.path).map((e) => e.sequenceNumber));
      const poisonPositions = put.filter((r) => r.n === POISON || r.n === TOO_LARGE);
      let completeAt: number | null = null;
      await eventually(
        'every other record delivered and both poison records dead-lettered',
        async () => {
          const seen = new Set(accepted().map((d) => d.sequenceNumber));
          const dead = deadLettered();
          return innocent.every((r) => seen.has(r.sequenceNumber)) &&
            poisonPositions.every((r) => dead.has(r.sequenceNumber))
            ? (completeAt = Date.now())
            : undefined;
        },
        50_000,
        250,
      ).catch(() => undefined);

      const counts = tally(innocent, accepted());
      const dead = deadLettered();
      const poisonDead = poisonPositions.filter((r) => dead.has(r.sequenceNumber)).length;
      const innocentsDead = innocent.filter((r) => dead.has(r.sequenceNumber)).length;
      const requestsWith = (n: number) =>
        receiver.requests.filter((r) =>
          (JSON.parse(r.body.toString()) as WebhookDocument[]).some((d) => d.original.n === n),
        ).length;
      const pass = counts.lost === 0 && poisonDead === 2;
      reportScenario('06-poison-record', {
        scenario: 'poison records: one webhook 500 forever, one 413 even alone; 1 worker, 2 shards',
        put: RECORDS,
        delivered: counts.delivered,
        duplicates: counts.duplicates,
        lost: counts.lost,
        recoveryMs:
          completeAt === null || firstRejectionAt === null ? null : completeAt - firstRejectionAt,
        dynamoRetried: stack.dynamoProxy.faultCount(),
        kinesisRetried: stack.kinesisProxy.faultCount(),
        pass,
        notes:
          `"put" counts both poison records, "delivered"/"lost" the ${innocent.length} others; ` +
          `${poisonDead}/2 poison dead-lettered, ${innocentsDead} other records dead-lettered; ` +
          `requests holding the 500 record: ${requestsWith(POISON)}, the 413 record: ${requestsWith(TOO_LARGE)}; ` +
          `retry.maxElapsedMs ${MAX_ELAPSED_MS}`,
      });

      expect(counts.lost, `records held back, e.g. ${counts.lostSample.join(', ')}`).toBe(0);
      expect(poisonDead).toBe(2);
    } finally {
      await stopWorkers(workers);
      await receiver.close();
    }
  });
});
