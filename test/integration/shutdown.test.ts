import { createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createStream, putAll } from '../../src/demo/producer.js';
import { numberedRecord } from '../support/records.js';
import { testRelayConfig } from '../support/relay-config.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';
import { eventually, uniqueName, useTestStack } from '../support/stack.js';

/** An "S3" that accepts connections and never answers: the worst a sink can meet. */
async function blackHole(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
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
});
