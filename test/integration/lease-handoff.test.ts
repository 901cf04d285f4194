import { describe, expect, it } from 'vitest';
import { createStream } from '../../src/demo/producer.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import { startHttpReceiver, type ReceivedRequest } from '../support/http-receiver.js';
import { ProducerLoop } from '../support/producer-loop.js';
import { testRelayConfig } from '../support/relay-config.js';
import { startRelayProcess, writeConfig, type RelayProcess } from '../support/relay-process.js';
import { eventually, uniqueName, useTestStack } from '../support/stack.js';

/** The record numbers a webhook request carried (format json: normalized documents). */
function numbersIn(request: ReceivedRequest): number[] {
  const docs = JSON.parse(request.body.toString()) as Array<{ original: { n: number } }>;
  return docs.map((doc) => doc.original.n);
}

function workerIdOf(relay: RelayProcess): string | undefined {
  return /"workerId":"([^"]+)"[^\n]*kinesis-relay starting/.exec(relay.output())?.[1];
}

describe('balancing', () => {
  const test = useTestStack();

  it('a balancing steal is a graceful handoff: with a slow webhook, nothing is delivered twice', async () => {
    const names = {
      stream: uniqueName('handoff'),
      table: uniqueName('handoff-leases'),
      bucket: uniqueName('handoff-unused'),
    };
    await createStream(test.clients.kinesis, names.stream, 6);
    // A busy receiver: every request answered after 2 s.
    const receiver = await startHttpReceiver(() => ({ status: 200, delayMs: 2000 }));
    const config = testRelayConfig(names, {
      leases: { failoverMs: 3000, takeIntervalMs: 1000, shardSyncIntervalMs: 5000 },
      checkpoint: { intervalMs: 1000 },
      sinks: [
        {
          name: 'hooks',
          type: 'webhook',
          url: receiver.url,
          timeoutMs: 30_000,
          buffer: { maxRecords: 500, maxBytes: 1_048_576, maxAgeMs: 1000 },
          retry: { initialDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 60_000 },
        },
      ],
    });
    const configPath = writeConfig(config);
    const store = new LeaseStore(test.clients.dynamo, names.table);
    const relays: RelayProcess[] = [];
    const start = async () => {
      const relay = startRelayProcess(['run', '--config', configPath]);
      relays.push(relay);
      return eventually('a relay to start', async () => workerIdOf(relay), 30_000, 100);
    };
    const owned = async (id: string) =>
      (await store.listLeases()).filter((l) => l.leaseOwner === id && !l.checkpointOwner).length;
    const producer = new ProducerLoop(test.clients.kinesis, names.stream, 10, 250);
    try {
      const a = await start();
      const b = await start();
      await eventually(
        'the two relays to hold 3 leases each',
        async () => ((await owned(a)) === 3 && (await owned(b)) === 3 ? true : undefined),
        60_000,
        250,
      );
      await new Promise((resolve) => setTimeout(resolve, 3000)); // the last steal noticed
      producer.start();
      await new Promise((resolve) => setTimeout(resolve, 4000));
      const c = await start();
      await eventually(
        'the third relay to hold its 2 leases',
        async () => ((await owned(c)) === 2 ? true : undefined),
        60_000,
        250,
      );
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const put = await producer.stop();
      const delivered = () => receiver.requests.filter((r) => r.status === 200).flatMap(numbersIn);
      await eventually(
        `all ${put.length} records delivered`,
        async () => (new Set(delivered()).size >= put.length ? true : undefined),
        120_000,
        500,
      );
      const numbers = delivered();
      const duplicates = numbers.length - new Set(numbers).size;
      const output = relays.map((relay) => relay.output()).join('\n');
      const handedOver = output.split('"lease handed over"').length - 1;
      console.log(
        `balancing steals with a 2 s webhook: ${put.length} records, ${duplicates} duplicates; ${handedOver} leases handed over`,
      );
      expect(new Set(numbers).size).toBe(put.length);
      expect(handedOver).toBeGreaterThanOrEqual(2);
      expect(duplicates).toBe(0);
    } finally {
      await producer.stop();
      for (const relay of relays) if (relay.child.exitCode === null) relay.child.kill('SIGTERM');
      await Promise.all(relays.map((relay) => relay.exited));
      await receiver.close();
    }
  });
});
