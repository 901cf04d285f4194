import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { startTestPostgres } from '../../test/support/postgres.js';
import { BenchKinesisEndpoint } from '../kinesis-endpoint/server.js';
import { mib, peakRssBytes } from '../lib/process-stats.js';
import { sleep } from '../lib/stats.js';
import { BUCKET, startRelay, type RelayStack } from './relay.js';
import { startSlowProxy } from './slow-proxy.js';

export interface ThreeSinkBacklogOptions {
  readonly shards: number;
  /** Records waiting in every shard. */
  readonly depth: number;
  /** How long every S3 request and every webhook request is held. */
  readonly sinkDelayMs: number;
  /** How long every chunk PostgreSQL sends back is held (several per batch loaded). */
  readonly postgresDelayMs: number;
  readonly durationMs: number;
  readonly nodeArgs?: readonly string[];
  /** The built relay to run (default dist/; a --baseline build for before/after). */
  readonly dist?: string;
}

export interface ThreeSinkBacklogSample {
  readonly peakRssMib: number;
  readonly recordsRead: number;
}

/**
 * The relay on a deep backlog with the three sink types at their default settings, all
 * slow: S3 and a webhook answering after `sinkDelayMs`, PostgreSQL (the Redshift sink's
 * postgres dialect) behind a proxy that holds every answer. Each sink's own bound would
 * let it hold 64-256 MiB; the process budget is what must hold the whole relay.
 */
export async function runThreeSinkBacklog(
  stack: RelayStack,
  options: ThreeSinkBacklogOptions,
): Promise<ThreeSinkBacklogSample> {
  const endpoint = new BenchKinesisEndpoint({
    streamName: `bench-three-sinks-${options.depth}`,
    shardCount: options.shards,
    recordsPerShard: options.depth,
  });
  await endpoint.start();
  const s3 = await startSlowProxy(stack.s3.endpoint, options.sinkDelayMs);
  const webhook = await startSlowReceiver(options.sinkDelayMs);
  const postgres = await startTestPostgres();
  const pgProxy = await startSlowTcpProxy(new URL(postgres.url), options.postgresDelayMs);
  const pgUrl = new URL(postgres.url);
  pgUrl.port = String(pgProxy.port);
  const relay = startRelay(
    { endpoint: endpoint.endpoint, streamName: endpoint.options.streamName },
    stack,
    {
      s3Endpoint: s3.endpoint,
      nodeArgs: options.nodeArgs,
      dist: options.dist,
      sinks: [
        { name: 'archive', type: 's3', bucket: BUCKET, prefix: 'three-sinks/', format: 'csv' },
        { name: 'hook', type: 'webhook', url: webhook.url },
        {
          name: 'warehouse',
          type: 'redshift',
          dialect: 'postgres',
          url: pgUrl.toString(),
          table: 'events',
          createTable: true,
        },
      ],
    },
  );
  try {
    await sleep(options.durationMs);
    if (relay.child.exitCode !== null) {
      throw new Error(`relay exited early:\n${relay.output().slice(-3000)}`);
    }
    return { peakRssMib: mib(peakRssBytes(relay.pid)), recordsRead: endpoint.counters.records };
  } finally {
    await relay.stop(0);
    await pgProxy.stop();
    await postgres.destroy();
    await webhook.stop();
    await s3.stop();
    await endpoint.stop();
  }
}

/** A webhook receiver that takes every request and answers 200 after `delayMs`. */
async function startSlowReceiver(delayMs: number): Promise<{ url: string; stop(): Promise<void> }> {
  const server: Server = createHttpServer((request, response) => {
    request.resume();
    request.on('end', () => {
      setTimeout(() => response.writeHead(200).end(), delayMs).unref();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A TCP proxy that holds every chunk the server sends for `delayMs` (a slow database). */
async function startSlowTcpProxy(
  target: URL,
  delayMs: number,
): Promise<{ port: number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      setTimeout(() => client.writable && client.write(chunk), delayMs).unref();
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => setTimeout(() => client.end(), delayMs).unref());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
