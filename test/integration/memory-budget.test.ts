import { afterEach, describe, expect, it } from 'vitest';
import { createStream, putAll, type OutgoingRecord } from '../../src/demo/producer.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { testRelayConfig } from '../support/relay-config.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';
import { eventually, uniqueName, useTestStack } from '../support/stack.js';

const RECORD_BYTES = 1000;
const LIMIT_BYTES = 2 * 1024 * 1024;

function record(n: number): OutgoingRecord {
  const payload = 'x'.repeat(RECORD_BYTES - 40);
  return { partitionKey: `device-${n % 50}`, data: Buffer.from(JSON.stringify({ n, payload })) };
}

/** Sums every series of `name` (every sink, say), or picks the one with `label`. */
function metricValue(text: string, name: string, label = ''): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(name) && !line.startsWith('#') && line.includes(label))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)))
    .reduce((sum, value) => sum + value, 0);
}

function hangingWebhook(name: string, url: string) {
  // Default buffer and maxInFlightBytes (64 MiB): only the process budget bounds it.
  return { name, type: 'webhook', url, timeoutMs: 120_000 };
}

describe('the process memory budget', () => {
  const test = useTestStack();
  const receivers: HttpReceiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });

  it('two sinks that never answer hold no more than memory.limitBytes together, and reading pauses', async () => {
    const names = {
      stream: uniqueName('budget'),
      table: uniqueName('budget-leases'),
      bucket: uniqueName('budget-unused'),
    };
    await createStream(test.clients.kinesis, names.stream, 2);
    const count = 4000;
    await putAll(
      test.clients.kinesis,
      names.stream,
      Array.from({ length: count }, (_, n) => record(n)),
    );
    // Both receivers take every request and never answer within the test.
    const receiver = await startHttpReceiver(() => ({ status: 200, delayMs: 600_000 }));
    receivers.push(receiver);
    const configPath = writeConfig(
      testRelayConfig(names, {
        // The default page (10,000 records) would be ~39 MiB in the sinks at once.
        consumer: { idleTimeBetweenReadsMs: 200 },
        memory: { limitBytes: LIMIT_BYTES },
        sinks: [hangingWebhook('first', receiver.url), hangingWebhook('second', receiver.url)],
      }),
    );

    const relay = startRelayProcess(['run', '--config', configPath]);
    try {
      const port = await eventually('the metrics port', async () => {
        const match = /"metricsPort":(\d+)/.exec(relay.output());
        return match ? Number(match[1]) : undefined;
      });
      let peakSinks = 0;
      let peakHeld = 0;
      let read = 0;
      let held = 0;
      const scrape = async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const sinks = metricValue(text, 'kinesis_relay_sink_inflight_bytes');
        held = metricValue(text, 'kinesis_relay_memory_bytes', 'state="held"');
        peakSinks = Math.max(peakSinks, sinks);
        peakHeld = Math.max(peakHeld, held);
        read = metricValue(text, 'kinesis_relay_records_total');
      };
      // The sinks fill the budget (nothing is ever acknowledged), then reading stops: no
      // record read for 30 scrapes in a row, far longer than a loop's call interval.
      let unchanged = 0;
      let last = -1;
      await eventually(
        'reading paused with the budget spent',
        async () => {
          await scrape();
          unchanged = read === last && held > 0 ? unchanged + 1 : 0;
          last = read;
          return unchanged >= 30 ? true : undefined;
        },
        120_000,
        100,
      );
      expect(read).toBeLessThan(count);
      // Spent: what is left is less than one of the smallest pages a loop waits for.
      expect(held).toBeGreaterThan(LIMIT_BYTES / 2);
      // Pages are reserved before they are read, from the records' size as every sink
      // counts them: the pages routed into full sinks cannot take them past the budget by
      // more than what that estimate missed (an eighth here).
      expect(peakHeld).toBeLessThanOrEqual(LIMIT_BYTES * 1.125);
      expect(peakSinks).toBeLessThanOrEqual(LIMIT_BYTES * 1.125);
      expect(peakSinks).toBe(peakHeld);
    } finally {
      relay.child.kill('SIGKILL');
    }
  });
});
