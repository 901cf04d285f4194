import { afterEach, describe, expect, it } from 'vitest';
import { sinkSchema, type WebhookSinkConfig } from '../../src/config/schema.js';
import { MemoryBudget } from '../../src/core/memory-budget.js';
import { EVENT_OVERHEAD_BYTES } from '../../src/sinks/pending-batch.js';
import { normalizedDocument } from '../../src/sinks/s3/event-encoder.js';
import { createWebhookSink } from '../../src/sinks/webhook/create-webhook-sink.js';
import { AckCounter, CollectedDeadLetters, quietSinkDeps, testEvents } from '../support/events.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';

function webhookConfig(url: string): WebhookSinkConfig {
  const config = sinkSchema.parse({ name: 'hooks', type: 'webhook', url, timeoutMs: 60_000 });
  if (config.type !== 'webhook') throw new Error('not a webhook sink config');
  return config;
}

describe("an in-flight event's record bytes", () => {
  const receivers: HttpReceiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });

  it.each([
    ['without a dead-letter destination the sink holds no record bytes', false],
    ['with a dead-letter destination the sink keeps them for its entries', true],
  ] as const)('%s', async (_name, withDeadLetter) => {
    // Requests are taken and never answered: every event stays in flight.
    const receiver = await startHttpReceiver(() => ({ status: 200, delayMs: 600_000 }));
    receivers.push(receiver);
    const budget = new MemoryBudget(1024 * 1024 * 1024);
    const sink = createWebhookSink(webhookConfig(receiver.url), {
      deadLetter: withDeadLetter ? new CollectedDeadLetters() : null,
      memory: budget,
      ...quietSinkDeps(),
    });
    const events = testEvents(50);
    const acks = new AckCounter();
    let encoded = 0;
    let recordBytes = 0;
    for (const event of events) {
      encoded += Buffer.byteLength(JSON.stringify(normalizedDocument(event)));
      recordBytes += event.record.data.byteLength;
      sink.write(event, acks.handle());
    }
    expect(recordBytes).toBeGreaterThan(0);
    const overhead = events.length * EVENT_OVERHEAD_BYTES;
    expect(budget.held).toBe(encoded + overhead + (withDeadLetter ? recordBytes : 0));
    void sink.close();
  });
});
