import { describe, expect, it } from 'vitest';
import { createStream, putAll } from '../../src/demo/producer.js';
import { blackHole } from '../support/black-hole.js';
import { startHttpReceiver, type ReceivedRequest } from '../support/http-receiver.js';
import { numberedRecord } from '../support/records.js';
import { testRelayConfig } from '../support/relay-config.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';
import { eventually, uniqueName, useTestStack, waitForPutsCheckpointed } from '../support/stack.js';

/** The record numbers a webhook request carried (format json: normalized documents). */
function numbersIn(request: ReceivedRequest): number[] {
  const docs = JSON.parse(request.body.toString()) as Array<{ original: { n: number } }>;
  return docs.map((doc) => doc.original.n);
}

function workerIdOf(output: string): string | undefined {
  return /"workerId":"([^"]+)"[^\n]*kinesis-relay starting/.exec(output)?.[1];
}

describe('shutdown', () => {
  const test = useTestStack();

  it('a sink stuck on a request that never answers cannot keep the process past its shutdown budget', async () => {
    const names = {
      stream: uniqueName('stuck'),
      table: uniqueName('stuck-leases'),
      bucket: uniqueName('stuck-archive'),
    };
    await createStream(test.clients.kinesis, names.stream, 1);
    await putAll(
      test.clients.kinesis,
      names.stream,
      Array.from({ length: 20 }, (_, i) => numberedRecord(i)),
    );
    const s3 = await blackHole();
    try {
      const config = testRelayConfig(names, { shutdown: { timeoutMs: 2000 } });
      (config.sinks[0] as { buffer: object }).buffer = {
        maxRecords: 10,
        maxBytes: 1_048_576,
        maxAgeMs: 100,
      };
      const relay = startRelayProcess(['run', '--config', writeConfig(config)], {
        ...process.env,
        AWS_ENDPOINT_URL_S3: s3.url,
      });
      await eventually(
        'the relay to read the shard',
        async () => (relay.output().includes('shard started') ? true : undefined),
        60_000,
        100,
      );
      await new Promise((resolve) => setTimeout(resolve, 1500)); // uploads are now hanging
      const signalledAt = Date.now();
      relay.child.kill('SIGTERM');
      const code = await relay.exited;
      const took = Date.now() - signalledAt;
      console.log(`stuck sink: exited ${String(code)} ${took} ms after SIGTERM (budget 2000 ms)`);
      expect(code).toBe(1);
      expect(relay.output()).toContain('shutdown did not finish in time');
      // Budget + the close grace (2 s) + the exit backstop (1 s), with room for a loaded CI.
      expect(took).toBeLessThan(15_000);
    } finally {
      await s3.close();
    }
  });

  it('a flush longer than the failover time keeps the lease until the final checkpoint and release: nothing re-delivered', async () => {
    const names = {
      stream: uniqueName('slowflush'),
      table: uniqueName('slowflush-leases'),
      bucket: uniqueName('slowflush-unused'),
    };
    await createStream(test.clients.kinesis, names.stream, 1);
    let slow = false;
    const receiver = await startHttpReceiver(() => ({
      status: 200,
      delayMs: slow ? 6000 : 0, // longer than failoverMs (2 s)
    }));
    const config = testRelayConfig(names, {
      leases: { failoverMs: 2000, takeIntervalMs: 500, shardSyncIntervalMs: 5000 },
      sinks: [
        {
          name: 'hooks',
          type: 'webhook',
          url: receiver.url,
          timeoutMs: 30_000,
          buffer: { maxRecords: 1000, maxBytes: 1_048_576, maxAgeMs: 200 },
          retry: { initialDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 60_000 },
        },
      ],
    });
    const configPath = writeConfig(config);
    const first = startRelayProcess(['run', '--config', configPath]);
    const second = { relay: undefined as ReturnType<typeof startRelayProcess> | undefined };
    const delivered = () => receiver.requests.filter((r) => r.status === 200).flatMap(numbersIn);
    try {
      const early = await putAll(
        test.clients.kinesis,
        names.stream,
        Array.from({ length: 50 }, (_, i) => numberedRecord(i)),
      );
      await eventually('the first 50 records delivered', async () =>
        delivered().length >= 50 ? true : undefined,
      );
      await waitForPutsCheckpointed(test.clients, names.table, early);
      second.relay = startRelayProcess(['run', '--config', configPath]);
      await eventually('the second relay to start', async () =>
        second.relay?.output().includes('kinesis-relay starting') ? true : undefined,
      );

      slow = true;
      await putAll(
        test.clients.kinesis,
        names.stream,
        Array.from({ length: 20 }, (_, i) => numberedRecord(50 + i)),
      );
      await eventually(
        'the next 20 records on their (slow) way to the receiver',
        async () => (delivered().length >= 70 ? true : undefined),
        30_000,
        50,
      );
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      slow = false;
      await putAll(
        test.clients.kinesis,
        names.stream,
        Array.from({ length: 10 }, (_, i) => numberedRecord(70 + i)),
      );
      await eventually('the last 10 records delivered by the second relay', async () =>
        new Set(delivered()).size >= 80 ? true : undefined,
      );

      const numbers = delivered();
      const firstId = workerIdOf(first.output());
      console.log(
        `slow flush on SIGTERM: ${numbers.length} deliveries of ${new Set(numbers).size} records`,
      );
      expect(new Set(numbers).size).toBe(80);
      // The second relay took the lease after its release, never as an expired lease of
      // the first, so nothing the first had in flight was read and sent again.
      expect(first.output()).not.toContain('shutdown step failed');
      expect(second.relay.output()).not.toContain(`"previousOwner":"${String(firstId)}"`);
      expect(numbers.length).toBe(80);
    } finally {
      for (const relay of [first, second.relay])
        if (relay && relay.child.exitCode === null) relay.child.kill('SIGTERM');
      await Promise.all([first.exited, second.relay?.exited]);
      await receiver.close();
    }
  });
  it('a LATEST stream whose relay stopped before the first record: the records put while no relay ran are delivered by the next one', async () => {
    const names = {
      stream: uniqueName('latest'),
      table: uniqueName('latest-leases'),
      bucket: uniqueName('latest-unused'),
    };
    await createStream(test.clients.kinesis, names.stream, 1);
    const receiver = await startHttpReceiver(() => ({ status: 200 }));
    const config = testRelayConfig(names, {
      stream: { name: names.stream, initialPosition: 'LATEST' },
      sinks: [
        {
          name: 'hooks',
          type: 'webhook',
          url: receiver.url,
          timeoutMs: 30_000,
          buffer: { maxRecords: 1000, maxBytes: 1_048_576, maxAgeMs: 200 },
          retry: { initialDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 60_000 },
        },
      ],
    });
    const configPath = writeConfig(config);
    const first = startRelayProcess(['run', '--config', configPath]);
    let next: ReturnType<typeof startRelayProcess> | undefined;
    try {
      await eventually(
        'the first relay to read the shard',
        async () => (first.output().includes('shard started') ? true : undefined),
        60_000,
        100,
      );
      // A deploy: the only relay stops (nothing was put yet), records arrive, a new one starts.
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      await putAll(
        test.clients.kinesis,
        names.stream,
        Array.from({ length: 10 }, (_, i) => numberedRecord(i)),
      );
      next = startRelayProcess(['run', '--config', configPath]);
      const delivered = () => receiver.requests.filter((r) => r.status === 200).flatMap(numbersIn);
      await eventually(
        'the 10 records put between the two relays delivered',
        async () => (new Set(delivered()).size >= 10 ? true : undefined),
        60_000,
        200,
      );
      expect([...new Set(delivered())].sort((a, b) => a - b)).toEqual(
        Array.from({ length: 10 }, (_, i) => i),
      );
    } finally {
      for (const relay of [first, next])
        if (relay && relay.child.exitCode === null) relay.child.kill('SIGTERM');
      await Promise.all([first.exited, next?.exited]);
      await receiver.close();
    }
  });
});
