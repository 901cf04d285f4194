import type { S3Client } from '@aws-sdk/client-s3';
import { startRelayProcess, writeConfig, type RelayProcess } from '../../support/relay-process.js';
import { testRelayConfig, type ArchivedLine } from '../../support/relay-config.js';
import { readJsonLines } from '../../support/s3-reader.js';
import { eventually } from '../../support/stack.js';
import type { Delivered } from './tally.js';

export interface Worker {
  readonly relay: RelayProcess;
  readonly id: string;
  readonly metricsPort: number;
}

export interface ChaosNames {
  readonly stream: string;
  readonly table: string;
  readonly bucket: string;
}

/**
 * A relay config for a chaos scenario: the test config with an S3 archive that flushes
 * often (so what is acknowledged trails what is read by well under a checkpoint interval).
 */
export function chaosConfig(
  names: ChaosNames,
  options: {
    failoverMs: number;
    takeIntervalMs?: number;
    checkpointIntervalMs: number;
    overrides?: Record<string, unknown>;
    /** Merged into the archive sink's config. */
    sink?: Record<string, unknown>;
  },
): string {
  const config = testRelayConfig(names, {
    leases: {
      failoverMs: options.failoverMs,
      ...(options.takeIntervalMs ? { takeIntervalMs: options.takeIntervalMs } : {}),
      shardSyncIntervalMs: 5000,
    },
    checkpoint: { intervalMs: options.checkpointIntervalMs },
    ...options.overrides,
  });
  const sink = config.sinks[0] as { buffer: object; retry: object };
  sink.buffer = { maxRecords: 500, maxBytes: 1_048_576, maxAgeMs: 300 };
  sink.retry = { initialDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 600_000 };
  Object.assign(sink, options.sink);
  return writeConfig(config);
}

/** Starts `kinesis-relay run` with the given environment; resolves once it logged its id. */
export async function startWorker(configPath: string, env: NodeJS.ProcessEnv): Promise<Worker> {
  const relay = startRelayProcess(['run', '--config', configPath], env);
  const started = await eventually(
    'the worker to start',
    async () => {
      if (relay.child.exitCode !== null) {
        throw new Error(`the worker exited: ${relay.output().slice(-2000)}`);
      }
      const match =
        /"workerId":"([^"]+)"[^\n]*"metricsPort":(\d+)[^\n]*kinesis-relay starting/.exec(
          relay.output(),
        );
      return match ? { id: match[1] ?? '', metricsPort: Number(match[2]) } : undefined;
    },
    60_000,
    100,
  );
  return { relay, ...started };
}

/** SIGTERM to every worker still running; waits for all to exit. */
export async function stopWorkers(workers: readonly Worker[]): Promise<void> {
  for (const { relay } of workers) if (relay.child.exitCode === null) relay.child.kill('SIGTERM');
  await Promise.all(
    workers.map(({ relay }) =>
      Promise.race([
        relay.exited,
        new Promise((resolve) =>
          setTimeout(() => {
            relay.child.kill('SIGKILL');
            resolve(undefined);
          }, 30_000).unref(),
        ),
      ]),
    ),
  );
}

/** Every line the S3 archive holds, as delivered records. */
export async function archived(s3: S3Client, bucket: string): Promise<Delivered[]> {
  const lines = await readJsonLines<ArchivedLine>(s3, bucket);
  return lines.map((line) => ({
    shardId: line.kinesis.shard_id,
    sequenceNumber: line.kinesis.sequence_number,
    n: line.original.n,
  }));
}

/** A counter or gauge summed over its series, from a worker's /metrics. */
export async function scrape(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

/**
 * Polls the archive until every put record is in it or the time is up. Returns what was
 * there at the end, and when everything was (null if it never was): the scenario reports
 * its numbers either way before it asserts.
 */
export async function waitForArchive(
  s3: S3Client,
  bucket: string,
  put: readonly { shardId: string; sequenceNumber: string }[],
  timeoutMs: number,
): Promise<{ delivered: Delivered[]; completeAt: number | null }> {
  const wanted = new Set(put.map((r) => `${r.shardId}/${r.sequenceNumber}`));
  const deadline = Date.now() + timeoutMs;
  let delivered: Delivered[] = [];
  for (;;) {
    try {
      delivered = await archived(s3, bucket);
    } catch {
      // s3rver busy: try again.
    }
    const seen = new Set(delivered.map((d) => `${d.shardId}/${d.sequenceNumber}`));
    if ([...wanted].every((key) => seen.has(key))) return { delivered, completeAt: Date.now() };
    if (Date.now() > deadline) return { delivered, completeAt: null };
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** How many log lines of the workers contain `text` (e.g. 'lease lost'). */
export function countLogLines(workers: readonly Worker[], text: string): number {
  return workers.reduce(
    (sum, { relay }) =>
      sum +
      relay
        .output()
        .split('\n')
        .filter((l) => l.includes(text)).length,
    0,
  );
}
