import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients, destroyAwsClients } from './clients.js';

describe('createAwsClients', () => {
  it('leaves out the SDK logger middleware on the Kinesis client only', () => {
    const clients = createAwsClients({ region: 'us-east-1', env: {} });
    try {
      expect(clients.kinesis.middlewareStack.identify().join('\n')).not.toMatch(/loggerMiddleware/);
      expect(clients.s3.middlewareStack.identify().join('\n')).toMatch(/loggerMiddleware/);
    } finally {
      destroyAwsClients(clients);
    }
  });
});

describe('a server that accepts requests and never answers', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  const savedEnv = { ...process.env };
  beforeAll(async () => {
    // Reads every request and never answers: a dead load balancer or a stalled peer.
    server = createServer((request) => request.resume());
    server.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ENDPOINT_URL_KINESIS: endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
  });
  afterAll(async () => {
    process.env = savedEnv;
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  /** The error name a call ends with, or 'still hanging' after 15 s. */
  function outcomeOf(call: Promise<unknown>): Promise<string> {
    return Promise.race([
      call.then(
        () => 'answered',
        (error: unknown) => (error instanceof Error ? error.name : String(error)),
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('still hanging'), 15_000).unref()),
    ]);
  }

  it('costs an S3 upload and a Kinesis call their idle timeout, never a stuck call', async () => {
    const clients = createAwsClients({ region: 'us-east-1', idleTimeoutMs: 300 });
    try {
      const [upload, list] = await Promise.all([
        outcomeOf(
          clients.s3.send(
            new PutObjectCommand({ Bucket: 'bucket', Key: 'key', Body: 'x'.repeat(1000) }),
          ),
        ),
        outcomeOf(clients.kinesis.send(new ListShardsCommand({ StreamName: 'stream' }))),
      ]);
      expect({ upload, list }).toEqual({ upload: 'TimeoutError', list: 'TimeoutError' });
    } finally {
      destroyAwsClients(clients);
    }
  });
});
