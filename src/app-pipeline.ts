import { configuredStreams, type RelayConfig } from './config/schema.js';
import type { DecoderOptions } from './decode/index.js';
import type { Logger } from './observability/logger.js';
import { Router } from './pipeline/router.js';
import { DecodePool, workerThreadCount } from './pipeline/workers/decode-pool.js';
import { decodeWorkerSpec } from './pipeline/workers/worker-spec.js';
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

/**
 * The worker threads, when configured and some sink's encoding can move there. Their
 * spec lists the sinks in the router's order: the workers answer per sink by index.
 */
export function startDecodePool(
  config: RelayConfig,
  sinkSet: SinkSet,
  options: { readonly log: Logger; readonly budgetBytes: number },
): DecodePool | null {
  const threads = workerThreadCount(
    config.consumer.workerThreads,
    config.consumer.maxConcurrentReads,
    undefined,
    options.budgetBytes,
  );
  if (threads === 0) return null;
  const spec = decodeWorkerSpec(
    config.decode.format,
    decoderOptions(config),
    sinkSet.sinks.map((sink) => sink.config),
    config.deadLetter !== null,
  );
  if (spec && !spec.chunks && config.consumer.workerThreads === 'auto') {
    // Records handed over one by one cost the process more CPU than the threads take off
    // the main thread (docs/performance.md): `auto` starts threads only for whole pages.
    options.log.info(
      'decoding on the main thread: worker threads take whole pages only where every sink is an S3 CSV or JSON Lines sink without exactlyOnce and no deadLetter is configured',
    );
    return null;
  }
  if (!spec) {
    options.log.info(
      { workerThreads: threads },
      'no sink encodes on worker threads (S3 CSV and JSON Lines and webhooks do): decoding on the main thread',
    );
    return null;
  }
  options.log.info(
    { workerThreads: threads, wholePages: Boolean(spec.chunks) },
    spec.chunks
      ? 'reading, decoding and encoding whole pages on worker threads'
      : 'decoding and encoding on worker threads',
  );
  return new DecodePool({ threads, spec, log: options.log.child({ component: 'decode-pool' }) });
}
