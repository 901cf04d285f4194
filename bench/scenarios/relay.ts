import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import {
  freePort,
  startDynalite,
  startS3rver,
  type RunningEmulator,
} from '../../src/demo/emulators.js';
import type { BenchKinesisEndpoint } from '../kinesis-endpoint/server.js';
import { awsEnv } from '../lib/aws-env.js';
import { startNodeChild, type BenchChild } from '../lib/child.js';
import { measureConsumer, relayMetricsProgress, type ThroughputSample } from '../lib/measure.js';

export const BUCKET = 'bench-archive';

/** dynalite (lease table) and s3rver (the S3 sink), shared by every relay run. */
export interface RelayStack {
  readonly dynamo: RunningEmulator;
  readonly s3: RunningEmulator;
  stop(): Promise<void>;
}

export async function startRelayStack(): Promise<RelayStack> {
  const [dynamo, s3] = await Promise.all([startDynalite(), startS3rver()]);
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  client.destroy();
  return {
    dynamo,
    s3,
    stop: async () => {
      await Promise.allSettled([dynamo.stop(), s3.stop()]);
    },
  };
}

export interface RelayRunOptions {
  /** Overrides for the S3 sink's config (the slow-sink scenario bounds it tighter). */
  readonly sink?: Record<string, unknown>;
  /** A whole sink list instead of the S3 sink (the latency scenario's webhook). */
  readonly sinks?: ReadonlyArray<Record<string, unknown>>;
  readonly consumer?: Record<string, unknown>;
  /** The relay's `deadLetter` destination (default: none, as a new user runs it). */
  readonly deadLetter?: Record<string, unknown>;
  /** The relay's `memory` settings (default: none, as a new user runs it). */
  readonly memory?: Record<string, unknown>;
  /** Where the relay serves /metrics (default: a free port nobody reads). */
  readonly metricsPort?: number;
  /** Where the relay's S3 client goes (a slow proxy in front of s3rver, say). */
  readonly s3Endpoint?: string;
  readonly nodeArgs?: readonly string[];
  /** What runs as `node` (a memory cgroup's entry: the pod scenario). */
  readonly nodeExecutable?: string;
  /** The built relay to run, relative to the repository (default dist/, this checkout's). */
  readonly dist?: string;
  /** Shared by several workers of one application (default: a new one per relay). */
  readonly application?: string;
}

/** kinesis-relay as its own process, reading the endpoint's stream into CSV gzip on S3. */
export function startRelay(
  source: { readonly endpoint: string; readonly streamName: string },
  stack: RelayStack,
  options: RelayRunOptions = {},
): BenchChild {
  const application = options.application ?? `bench-${randomBytes(4).toString('hex')}`;
  const config = {
    application,
    stream: { name: source.streamName, initialPosition: 'TRIM_HORIZON' },
    // One worker: take every lease in the first pass instead of waiting for the timers.
    leases: { failoverMs: 10_000 },
    decode: { format: 'auto' },
    ...(options.consumer ? { consumer: options.consumer } : {}),
    ...(options.memory ? { memory: options.memory } : {}),
    ...(options.deadLetter ? { deadLetter: options.deadLetter } : {}),
    sinks: options.sinks ?? [
      {
        name: 'archive',
        type: 's3',
        bucket: BUCKET,
        prefix: `${application}/`,
        format: 'csv',
        layout: 'hourly',
        compression: 'gzip',
        // Objects of 10,000 records, so gzip and upload keep close behind the routing the
        // window is measured on (a 50,000-record batch would trail it by seconds).
        buffer: { maxRecords: 10_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 60_000 },
        ...options.sink,
      },
    ],
    metrics: { port: options.metricsPort ?? 0, host: '127.0.0.1' },
    log: { level: 'warn' },
  };
  const path = join(mkdtempSync(join(tmpdir(), 'kinesis-relay-bench-')), 'relay.yaml');
  writeFileSync(path, stringify(config));
  // The published build, as `npm start` and the container run it (`npm run bench` builds it).
  return startNodeChild(join(options.dist ?? 'dist', 'main.js'), ['run', '--config', path], {
    env: awsEnv({
      kinesis: source.endpoint,
      dynamodb: stack.dynamo.endpoint,
      s3: options.s3Endpoint ?? stack.s3.endpoint,
    }),
    nodeArgs: options.nodeArgs,
    nodeExecutable: options.nodeExecutable,
  });
}

/** One measured run of the relay reading the whole backlog. */
export async function runRelay(
  endpoint: BenchKinesisEndpoint,
  stack: RelayStack,
  options: RelayRunOptions = {},
): Promise<ThroughputSample> {
  endpoint.resetCounters();
  const metricsPort = await freePort();
  const relay = startRelay(
    { endpoint: endpoint.endpoint, streamName: endpoint.options.streamName },
    stack,
    { ...options, metricsPort },
  );
  try {
    return await measureConsumer(endpoint, relay, relayMetricsProgress(metricsPort));
  } finally {
    // A profiled run must exit cleanly to write its profile; otherwise do not wait for
    // the final flush of a backlog nobody measures any more.
    const profiled = options.nodeArgs?.some((flag) => flag.startsWith('--cpu-prof')) ?? false;
    await relay.stop(profiled ? 60_000 : 0);
  }
}
