import { configuredStreams, type RelayConfig, type SinkConfig } from './config/schema.js';
import type { MemoryBudget } from './core/memory-budget.js';
import type { DecoderOptions } from './decode/index.js';
import type { Logger } from './observability/logger.js';
import { Router } from './pipeline/router.js';
import {
  DecodePool,
  hostCpus,
  mainThreadTakesPages,
  workerThreadCount,
} from './pipeline/workers/decode-pool.js';
import { decodeWorkerSpec, type DecodeWorkerSpec } from './pipeline/workers/worker-spec.js';
import type { SinkSet } from './sinks/create-sinks.js';

/** Routes each event to the sinks whose filters take it, in the configured sinks' order. */
export function createRouter(sinkSet: SinkSet): Router {
  return new Router(
    sinkSet.sinks.map(({ sink, config: sinkConfig }) => ({
      sink,
      eventTypes: sinkConfig.filter.eventTypes,
      formats: sinkConfig.filter.formats,
      streams: sinkConfig.filter.streams,
    })),
  );
}

/**
 * How the configured relay decodes, beyond the format: reading more than one stream, an
 * event's position id names its stream (two streams' positions can be equal). One stream,
 * `stream:` or a `streams:` list of one, keeps the one-stream ids: they cannot collide, and
 * an exactly-once S3 sink (one stream only) rebuilds the bytes it wrote before. The shard
 * loops, the decode workers and a dead-letter replay all decode so, so a record yields the
 * same ids on every path.
 */
export function decoderOptions(config: RelayConfig): DecoderOptions {
  return { streamInIds: configuredStreams(config).length > 1 };
}

/** What startDecodePool starts: threads and their spec, or none and why (null: nothing to say). */
export type DecodePoolPlan =
  | { readonly threads: number; readonly spec: DecodeWorkerSpec }
  | { readonly threads: 0; readonly why: string | null };

/**
 * Whether to start worker threads, how many, and for which way of working (whole pages
 * or records page by page: DecodeWorkerSpec). `auto` starts them for whole pages only:
 * records handed over one by one cost the process more CPU than the threads take off the
 * main thread (docs/performance.md), and enhanced fan-out delivers records already parsed,
 * so there is no page for a thread to read.
 */
export function decodePoolPlan(
  config: RelayConfig,
  sinks: readonly SinkConfig[],
  budgetBytes: number,
  cpus?: Parameters<typeof workerThreadCount>[2],
): DecodePoolPlan {
  const setting = config.consumer.workerThreads;
  const threads = workerThreadCount(setting, config.consumer.maxConcurrentReads, cpus, budgetBytes);
  if (threads === 0) return { threads: 0, why: null };
  const spec = decodeWorkerSpec(
    config.decode.format,
    decoderOptions(config),
    sinks,
    config.deadLetter !== null,
  );
  if (!spec) {
    return {
      threads: 0,
      why: 'no sink encodes on worker threads (S3 CSV and JSON Lines and webhooks do): decoding on the main thread',
    };
  }
  if (setting === 'auto' && config.consumer.mode === 'fanout') {
    return {
      threads: 0,
      why: 'decoding on the main thread: enhanced fan-out delivers parsed records, and workerThreads auto starts threads for whole GetRecords pages only',
    };
  }
  if (setting === 'auto' && !spec.chunks) {
    return {
      threads: 0,
      why: 'decoding on the main thread: worker threads take whole pages only where every sink is a batching S3 CSV or JSON Lines sink (not exactlyOnce, not zstd)',
    };
  }
  return { threads, spec };
}

/**
 * The worker threads, as planned by decodePoolPlan. Their spec lists the sinks in the
 * router's order: the workers answer per sink by index.
 */
export function startDecodePool(
  config: RelayConfig,
  sinkSet: SinkSet,
  options: { readonly log: Logger; readonly budget: Pick<MemoryBudget, 'held' | 'limitBytes'> },
): DecodePool | null {
  const plan = decodePoolPlan(
    config,
    sinkSet.sinks.map((sink) => sink.config),
    options.budget.limitBytes,
  );
  if (!('spec' in plan)) {
    if (plan.why) options.log.info({ workerThreads: config.consumer.workerThreads }, plan.why);
    return null;
  }
  const { threads, spec } = plan;
  const mainThreadToo = Boolean(spec.chunks) && mainThreadTakesPages(threads, hostCpus());
  options.log.info(
    {
      workerThreads: threads,
      wholePages: Boolean(spec.chunks),
      mainThreadTakesPages: mainThreadToo,
    },
    spec.chunks
      ? 'reading, decoding and encoding whole pages on worker threads'
      : 'decoding and encoding on worker threads',
  );
  return new DecodePool({
    threads,
    spec,
    log: options.log.child({ component: 'decode-pool' }),
    mainThreadTakesPages: mainThreadToo,
    budget: options.budget,
  });
}
