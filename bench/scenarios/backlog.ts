import { BenchKinesisEndpoint } from '../kinesis-endpoint/server.js';
import { mib, peakRssBytes } from '../lib/process-stats.js';
import { sleep } from '../lib/stats.js';
import { startRelay, type RelayStack } from './relay.js';
import { startSlowProxy } from './slow-proxy.js';

export interface BacklogOptions {
  readonly shards: number;
  /** Records waiting in every shard. */
  readonly depth: number;
  /** The S3 sink's in-flight bound (bytes buffered plus uploading). */
  readonly maxInFlightBytes: number;
  /** How long every S3 request is held. */
  readonly sinkDelayMs: number;
  readonly durationMs: number;
  /** Overrides for the relay's `consumer` settings. */
  readonly consumer?: Record<string, unknown>;
  /** More S3 sink settings (the output format, say). */
  readonly sink?: Record<string, unknown>;
  /** The relay's `memory` settings (default: none). */
  readonly memory?: Record<string, unknown>;
  /** The relay's `deadLetter` destination (default: none). */
  readonly deadLetter?: Record<string, unknown>;
  readonly nodeArgs?: readonly string[];
  /** The built relay to run (default dist/; a --baseline build for before/after). */
  readonly dist?: string;
}

export interface BacklogSample {
  readonly depth: number;
  readonly peakRssMib: number;
  readonly recordsRead: number;
}

/**
 * The relay on a deep backlog with a slow sink: reading is paused by the sink's in-flight
 * bound, so memory must stay at that bound, whatever the depth of the backlog.
 */
export async function runBacklog(
  stack: RelayStack,
  options: BacklogOptions,
): Promise<BacklogSample> {
  const endpoint = new BenchKinesisEndpoint({
    streamName: `bench-backlog-${options.depth}`,
    shardCount: options.shards,
    recordsPerShard: options.depth,
  });
  await endpoint.start();
  const proxy = await startSlowProxy(stack.s3.endpoint, options.sinkDelayMs);
  const relay = startRelay(
    { endpoint: endpoint.endpoint, streamName: endpoint.options.streamName },
    stack,
    {
      s3Endpoint: proxy.endpoint,
      consumer: options.consumer,
      memory: options.memory,
      deadLetter: options.deadLetter,
      nodeArgs: options.nodeArgs,
      dist: options.dist,
      sink: {
        ...options.sink,
        maxInFlightBytes: options.maxInFlightBytes,
        buffer: {
          maxRecords: 50_000,
          maxBytes: Math.floor(options.maxInFlightBytes / 4),
          maxAgeMs: 60_000,
        },
      },
    },
  );
  try {
    await sleep(options.durationMs);
    if (relay.child.exitCode !== null) {
      throw new Error(`relay exited early:\n${relay.output().slice(-3000)}`);
    }
    return {
      depth: options.depth,
      peakRssMib: mib(peakRssBytes(relay.pid)),
      recordsRead: endpoint.counters.records,
    };
  } finally {
    await relay.stop(0);
    await proxy.stop();
    await endpoint.stop();
  }
}
