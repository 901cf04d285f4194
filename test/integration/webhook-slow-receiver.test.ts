import { afterEach, describe, expect, it } from 'vitest';
import { sinkSchema, type WebhookSinkConfig } from '../../src/config/schema.js';
import { createWebhookSink } from '../../src/sinks/webhook/create-webhook-sink.js';
import { AckCounter, CollectedDeadLetters, quietSinkDeps, testEvents } from '../support/events.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { eventually } from '../support/stack.js';

/** The receiver's latency: far above the batch age, as a busy endpoint's 5 s is above 1 s. */
const LATENCY_MS = 1500;
const LANES = 4;

function webhookConfig(fields: Record<string, unknown>): WebhookSinkConfig {
  const config = sinkSchema.parse({ name: 'hooks', type: 'webhook', ...fields });
  if (config.type !== 'webhook') throw new Error('not a webhook sink config');
  return config;
}

interface Document {
  readonly kinesis: { partition_key: string; sequence_number: string };
}

describe('a slow webhook receiver', () => {
  const receivers: HttpReceiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });

  it.each(['partitionKey', 'none'] as const)(
    'does not starve the sink: batches grow while every request is in flight (ordering: %s)',
    async (ordering) => {
      const receiver = await startHttpReceiver(() => ({ status: 200, delayMs: LATENCY_MS }));
      receivers.push(receiver);
      const deadLetter = new CollectedDeadLetters();
      const sink = createWebhookSink(
        webhookConfig({
          url: receiver.url,
          ordering,
          maxConcurrency: LANES,
          timeoutMs: 30_000,
          // An age window far shorter than the latency: today each lane's batches close
          // every 100 ms and queue behind the requests in flight.
          buffer: { maxRecords: 500, maxBytes: 1024 * 1024, maxAgeMs: 100 },
        }),
        { deadLetter, ...quietSinkDeps() },
      );
      const events = testEvents(600).map((event, n) => ({
        ...event,
        record: { ...event.record, partitionKey: `device-${n % 12}` },
      }));
      const acks = new AckCounter();

      // 10 events every 100 ms, as a shard loop hands them over: about 6 s of traffic.
      const started = Date.now();
      for (let offset = 0; offset < events.length; offset += 10) {
        for (const event of events.slice(offset, offset + 10)) sink.write(event, acks.handle());
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const writingMs = Date.now() - started;
      const requestsWhileWriting = receiver.requests.length;

      // No flush: the batches must go out by themselves, by age, as lanes free up.
      await eventually(
        'every event acknowledged',
        async () => (acks.acked === events.length ? true : undefined),
        120_000,
        100,
      );
      await sink.close();

      expect(acks).toMatchObject({ acked: 600, doubles: 0 });
      expect(deadLetter.entries).toHaveLength(0);
      const accepted = receiver.requests.filter((request) => request.status === 200);
      const documents = accepted.map(
        (request) => JSON.parse(request.body.toString()) as Document[],
      );
      expect(documents.flat()).toHaveLength(600);

      // Each lane (or each permitted request) sends at most one request per latency while
      // traffic lasts, and when it stops, what is in flight plus one batch holding the rest.
      expect(receiver.requests.length - requestsWhileWriting).toBeLessThanOrEqual(2 * LANES);
      const bound = LANES * (Math.ceil(writingMs / LATENCY_MS) + 2);
      expect(receiver.requests.length).toBeLessThanOrEqual(bound);
      expect(600 / receiver.requests.length).toBeGreaterThanOrEqual(600 / bound);

      if (ordering === 'partitionKey') {
        const lastByKey = new Map<string, bigint>();
        let outOfOrder = 0;
        for (const { kinesis } of documents.flat()) {
          const sequence = BigInt(kinesis.sequence_number);
          if (sequence < (lastByKey.get(kinesis.partition_key) ?? 0n)) outOfOrder += 1;
          lastByKey.set(kinesis.partition_key, sequence);
        }
        expect(outOfOrder).toBe(0);
      }
    },
    180_000,
  );
});
