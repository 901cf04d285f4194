import { describe, expect, it } from 'vitest';
import { Relay } from '../../src/app.js';
import { validateConfig } from '../../src/config/load.js';
import { createStream, putAll } from '../../src/demo/producer.js';
import { createLogger } from '../../src/observability/logger.js';
import { startHttpReceiver, type ReceivedRequest } from '../support/http-receiver.js';
import { numberedRecord } from '../support/records.js';
import { eventually, useTestStack, uniqueName } from '../support/stack.js';

/** What the test reads of a delivered document (the webhook's normalized event). */
interface Delivered {
  readonly id: string;
  readonly kinesis: { readonly stream: string; readonly shard_id: string };
  readonly original: { readonly n: number };
}

function documents(request: ReceivedRequest): Delivered[] {
  return JSON.parse(request.body.toString()) as Delivered[];
}

describe('event ids with several streams (streams:)', () => {
  const test = useTestStack();

  // Both decode paths: on the main thread, and on worker threads (which encode the webhook
  // documents, ids included, themselves).
  it.each([0, 1])(
    'records of two streams without ids of their own reach a webhook with distinct ids (workerThreads %i)',
    async (workerThreads) => {
      const { kinesis } = test.clients;
      const streams = [uniqueName('ids-a'), uniqueName('ids-b')];
      // One shard each: the same shard id in both streams, and kinesis-local numbers both
      // streams' records alike.
      for (const stream of streams) await createStream(kinesis, stream, 1);
      const receiver = await startHttpReceiver(() => ({ status: 200 }));
      const config = validateConfig(
        {
          application: uniqueName('ids-leases'),
          streams: streams.map((name) => ({ name, initialPosition: 'TRIM_HORIZON' })),
          leases: { failoverMs: 10_000, takeIntervalMs: 1000, shardSyncIntervalMs: 5000 },
          consumer: { idleTimeBetweenReadsMs: 200, workerThreads },
          decode: { format: 'json' },
          sinks: [
            {
              name: 'hook',
              type: 'webhook',
              url: receiver.url,
              buffer: { maxRecords: 100, maxBytes: 1_048_576, maxAgeMs: 200 },
              retry: { initialDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 600_000 },
            },
          ],
          checkpoint: { intervalMs: 500 },
          metrics: { port: 0, host: '127.0.0.1' },
          log: { level: 'error' },
        },
        'test',
        {},
      );
      const relay = new Relay(config, { log: createLogger('error'), clients: test.clients });
      await relay.start();
      try {
        const count = 20;
        for (const stream of streams) {
          // The same documents in both streams: numbered bodies carry no id key.
          await putAll(
            kinesis,
            stream,
            Array.from({ length: count }, (_, n) => numberedRecord(n)),
          );
        }
        const delivered = await eventually(
          'every record of both streams delivered',
          async () => {
            const docs = receiver.requests.filter((r) => r.status === 200).flatMap(documents);
            const seen = new Set(docs.map((doc) => `${doc.kinesis.stream}/${doc.original.n}`));
            return seen.size === 2 * count ? docs : undefined;
          },
          90_000,
          250,
        );
        const idsOf = new Map<string, Set<string>>();
        for (const doc of delivered) {
          const key = `${doc.kinesis.stream}/${doc.original.n}`;
          idsOf.set(key, (idsOf.get(key) ?? new Set()).add(doc.id));
        }
        // One id per record (redeliveries keep it), and no two records share one.
        expect([...idsOf.values()].every((ids) => ids.size === 1)).toBe(true);
        const ids = [...idsOf.values()].map((set) => [...set][0]);
        expect(new Set(ids).size).toBe(2 * count);
        // The documented form: the stream as configured, a slash, then the position.
        for (const doc of delivered) {
          expect(doc.id.startsWith(`${doc.kinesis.stream}/${doc.kinesis.shard_id}:`)).toBe(true);
        }
      } finally {
        await relay.stop();
        await receiver.close();
      }
    },
  );
});
