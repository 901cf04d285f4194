import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { configSchema } from '../../src/config/schema.js';
import { freePort, startKinesisLocal } from '../../src/demo/emulators.js';
import { pinpointEventBytes } from '../lib/pinpoint-records.js';
import { percentile, sleep } from '../lib/stats.js';
import { startFanoutServer } from '../../test/support/fanout-server.js';
import { startRelay, type RelayStack } from './relay.js';

export interface LatencyOptions {
  readonly recordsPerSecond: number;
  readonly batchingWindowMs: number;
  readonly shards: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /**
   * polling on kinesalite (default); or on kinesis-local, polling or fan-out
   * (SubscribeToShard over HTTP/1.1, the only way kinesis-local serves it): kinesalite
   * has no enhanced fan-out, so the fan-out figure is set next to polling on the same emulator.
   * kinesis-local pushes subscription events once a second, so its fan-out figure is the
   * emulator's; `http2-fanout` is nearer AWS.
   */
  readonly source?:
    | 'kinesalite'
    | 'kinesis-local-polling'
    | 'kinesis-local-fanout'
    /**
     * Fan-out over HTTP/2 (TLS, h2) from test/support/fanout-server.ts: the producer puts
     * through it, and it pushes a record as soon as kinesis-local acknowledged its put
     * (one GetRecords later), as AWS pushes rather than polls.
     */
    | 'http2-fanout'
    /**
     * The same front as it was measured first: the producer puts straight to kinesis-local
     * and the front finds the records by polling it every 20 ms (the "before" rows).
     */
    | 'http2-fanout-polled';
  /** The built relay to run (default dist/; bench/run.ts --baseline gives another). */
  readonly dist?: string;
}

/** p50 / p99 of one leg of put → webhook, and its mean over the slowest 1% of records. */
export interface LatencyLeg {
  readonly leg: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanInSlowestMs: number;
}

export type LatencySample =
  | {
      readonly p50Ms: number;
      readonly p99Ms: number;
      readonly received: number;
      readonly sent: number;
      /** Where the time goes (the legs sum to put → webhook for each record). */
      readonly legs: readonly LatencyLeg[];
    }
  | { readonly p50Ms: null; readonly p99Ms: null; readonly reason: string };

const require = createRequire(import.meta.url);
const MARKER = /bench_sent\\?"\s*:\s*\\?"(\d+)-(\d+)/g;

/** The webhook sink as design.md specifies it, batching for `windowMs`. */
function webhookSink(url: string, windowMs: number) {
  return {
    name: 'hooks',
    type: 'webhook',
    url,
    format: 'json',
    buffer: { maxRecords: 500, maxBytes: 1_048_576, maxAgeMs: windowMs },
  };
}

/** Null with the reason when this build's config does not accept a webhook sink yet. */
export function webhookUnavailable(): string | null {
  const parsed = configSchema.safeParse({
    application: 'bench-latency',
    stream: { name: 'bench' },
    sinks: [webhookSink('http://127.0.0.1:1/hook', 200)],
  });
  if (parsed.success) return null;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  return `this build has no usable webhook sink (${issues.join('; ')})`;
}

/**
 * Put → webhook received, end to end: a producer puts Pinpoint events at a steady rate
 * into kinesalite, each carrying its put time; the relay (a child process) reads them and
 * delivers them to a webhook receiver here, which notes when each arrived.
 */
export async function runLatency(
  stack: RelayStack,
  options: LatencyOptions,
): Promise<LatencySample> {
  const reason = webhookUnavailable();
  if (reason) return { p50Ms: null, p99Ms: null, reason };

  const received = new Map<string, number>();
  /** When each record's put was acknowledged, its front pushed it, the webhook got it. */
  const putAcked = new Map<string, number>();
  const pushed = new Map<string, number>();
  const arrived = new Map<string, number>();
  const receiver: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const now = Date.now();
      for (const match of Buffer.concat(chunks).toString().matchAll(MARKER)) {
        const id = match[2] ?? '';
        if (!received.has(id)) {
          received.set(id, now - Number(match[1]));
          arrived.set(id, now);
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const source = options.source ?? 'kinesalite';
  const emulator = source === 'kinesalite' ? await startKinesalite() : await startKinesisLocal();
  const { endpoint, port } = emulator;
  const viaFront = source === 'http2-fanout' || source === 'http2-fanout-polled';
  const front = viaFront
    ? await startFanoutServer({
        upstream: endpoint,
        // Pushing on puts, a caught-up subscription otherwise waits the default 200 ms: no
        // 50 GetRecords/s per shard loading kinesis-local, which the polling rows lack.
        ...(source === 'http2-fanout-polled' ? { pollIdleMs: 20 } : {}),
        onPush: (records) => {
          const now = Date.now();
          for (const record of records) {
            const id = markerId(record.Data);
            if (id !== undefined && !pushed.has(id)) pushed.set(id, now);
          }
        },
      })
    : undefined;
  // The front's certificate is self-signed (kinesis-local's): the relay child inherits this.
  if (front) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  // Through the front when it pushes on puts (see startFanoutServer).
  const client = new KinesisClient({
    region: 'us-east-1',
    endpoint: source === 'http2-fanout' ? front?.endpoint : endpoint,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestHandler: new NodeHttpHandler(),
  });
  const streamName = `bench-latency-${port}`;
  let relay: ReturnType<typeof startRelay> | undefined;
  try {
    await waitFor(() =>
      client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: options.shards })),
    );
    await waitFor(async () => {
      const summary = await client.send(
        new DescribeStreamSummaryCommand({ StreamName: streamName }),
      );
      if (summary.StreamDescriptionSummary?.StreamStatus !== 'ACTIVE')
        throw new Error('not active yet');
    });
    relay = startRelay({ endpoint: front?.endpoint ?? endpoint, streamName }, stack, {
      dist: options.dist,
      sinks: [webhookSink(hookUrl, options.batchingWindowMs)],
      // Caught up, the relay polls again after this long (its default is 1.5 s).
      consumer: {
        idleTimeBetweenReadsMs: options.batchingWindowMs,
        ...(source === 'kinesis-local-fanout'
          ? { mode: 'fanout', fanout: { protocol: 'http1.1' } }
          : viaFront
            ? { mode: 'fanout', fanout: { protocol: 'http2' } }
            : {}),
      },
    });
    // Put at the target rate in 20 ticks a second; only records put after the warm-up count.
    const tickMs = 50;
    const perTick = Math.max(1, Math.round((options.recordsPerSecond * tickMs) / 1000));
    const started = Date.now();
    const measuredFrom = started + options.warmupMs;
    const until = measuredFrom + options.durationMs;
    let n = 0;
    const counted: string[] = [];
    while (Date.now() < until) {
      const tickAt = Date.now();
      const records = Array.from({ length: perTick }, () => {
        n += 1;
        const sent = Date.now();
        if (sent >= measuredFrom) counted.push(String(n));
        return {
          PartitionKey: `device-${n % 4096}`,
          Data: pinpointEventBytes(n, sent, 500, { bench_sent: `${sent}-${n}` }),
        };
      });
      await client.send(new PutRecordsCommand({ StreamName: streamName, Records: records }));
      const acked = Date.now();
      for (let id = n - perTick + 1; id <= n; id += 1) putAcked.set(String(id), acked);
      await sleep(tickAt + tickMs - Date.now());
    }
    await sleep(Math.max(3_000, options.batchingWindowMs * 10));
    const latencies = counted
      .map((id) => received.get(id))
      .filter((ms): ms is number => ms !== undefined);
    if (latencies.length === 0) {
      return {
        p50Ms: null,
        p99Ms: null,
        reason: `no record reached the webhook:\n${relay.output().slice(-2000)}`,
      };
    }
    return {
      p50Ms: percentile(latencies, 50) ?? 0,
      p99Ms: percentile(latencies, 99) ?? 0,
      received: latencies.length,
      sent: counted.length,
      legs: legsOf(counted, received, { putAcked, pushed, arrived }, front !== undefined),
    };
  } finally {
    await relay?.stop(0);
    client.destroy();
    await front?.stop();
    delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    await emulator.stop();
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  }
}

/** The record number of a bench record's marker. */
function markerId(data: Uint8Array | undefined): string | undefined {
  if (!data) return undefined;
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString();
  for (const match of text.matchAll(MARKER)) return match[2];
  return undefined;
}

/**
 * put → webhook in legs, per record: the PutRecords call (kinesis-local accepting it),
 * then acknowledged put → the HTTP/2 front pushing it (its GetRecords on kinesis-local,
 * made once the put is acknowledged), then → the webhook (the relay: event in, batching
 * window, POST); without a front the last two are one leg (the relay reading the shard). Each leg's p50 / p99 over all records, and
 * its mean over the slowest 1% by total: what the p99 is made of.
 */
function legsOf(
  counted: readonly string[],
  total: ReadonlyMap<string, number>,
  at: {
    putAcked: ReadonlyMap<string, number>;
    pushed: ReadonlyMap<string, number>;
    arrived: ReadonlyMap<string, number>;
  },
  withFront: boolean,
): LatencyLeg[] {
  const names = withFront
    ? ['put call', 'put acked → front pushed', 'front pushed → webhook']
    : ['put call', 'put acked → webhook'];
  const rows: { total: number; legs: number[] }[] = [];
  for (const id of counted) {
    const latency = total.get(id);
    const arrived = at.arrived.get(id);
    const acked = at.putAcked.get(id);
    if (latency === undefined || arrived === undefined || acked === undefined) continue;
    const sent = arrived - latency;
    if (withFront) {
      const pushed = at.pushed.get(id);
      if (pushed === undefined) continue;
      rows.push({ total: latency, legs: [acked - sent, pushed - acked, arrived - pushed] });
    } else {
      rows.push({ total: latency, legs: [acked - sent, arrived - acked] });
    }
  }
  const slowest = [...rows]
    .sort((a, b) => b.total - a.total)
    .slice(0, Math.max(1, Math.ceil(rows.length / 100)));
  return names.map((leg, index) => {
    const values = rows.map((row) => row.legs[index] ?? 0);
    const inSlowest = slowest.map((row) => row.legs[index] ?? 0);
    return {
      leg,
      p50Ms: percentile(values, 50) ?? 0,
      p99Ms: percentile(values, 99) ?? 0,
      meanInSlowestMs: Math.round(
        inSlowest.reduce((sum, value) => sum + value, 0) / (inSlowest.length || 1),
      ),
    };
  });
}

async function startKinesalite(): Promise<{
  endpoint: string;
  port: number;
  stop: () => Promise<void>;
}> {
  const port = await freePort();
  const kinesalite = spawn(
    process.execPath,
    [
      require.resolve('kinesalite/cli.js'),
      '--port',
      String(port),
      '--createStreamMs',
      '0',
      '--shardLimit',
      '200',
    ],
    { stdio: 'ignore' },
  );
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: async () => {
      kinesalite.kill('SIGKILL');
    },
  };
}

async function waitFor(attempt: () => Promise<unknown>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await attempt();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}
