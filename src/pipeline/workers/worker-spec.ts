import { isS3Sink, type SinkConfig } from '../../config/schema.js';
import type { SourceFormat } from '../../core/event.js';
import type { DecoderOptions } from '../../decode/index.js';
import { s3EncodingSettings, type S3EncodingSettings } from '../../sinks/s3/encoding-settings.js';
import type { RouteFilterConfig } from '../router.js';
import type { ChunkSinkSpec, PageChunkerSpec } from './page-chunker.js';

/**
 * What a decode worker needs to do a page's work as the main thread would: the decoder's
 * format and, per sink in the router's order, its filter and (for the sinks whose encoding
 * moves to the workers) how it encodes. Plain data: it is the workers' `workerData`.
 */
export interface DecodeWorkerSpec {
  readonly decodeFormat: SourceFormat | 'auto';
  /** As the main thread's decoder (see DecoderOptions): the ids a worker encodes are its ids. */
  readonly streamInIds: boolean;
  readonly sinks: readonly WorkerSinkSpec[];
  /**
   * Set when every sink takes a page's lines as chunks (S3 CSV or JSON Lines, batching,
   * gzip or uncompressed): the poller then hands whole GetRecords bodies to the
   * workers (ShardPipeline.processPage). Null: pages of records (`decode`).
   */
  readonly chunks?: PageChunkerSpec | null;
}

export interface WorkerSinkSpec {
  readonly filter: RouteFilterConfig;
  /** How the sink's events are encoded in a worker; null: on the main thread. */
  readonly encoding: WorkerEncoding | null;
}

/** S3 CSV / JSON Lines (line + directory), or a webhook's JSON document. */
export type WorkerEncoding =
  ({ readonly type: 's3' } & S3EncodingSettings) | { readonly type: 'webhook' };

/**
 * How a configured sink encodes in a worker: S3 text objects (CSV, JSON Lines) and webhook
 * documents. Parquet rows stay on the main thread (an array of cells per event, written
 * column by column), and so do Redshift rows (typed per configured column).
 */
export function workerEncoding(sink: SinkConfig): WorkerEncoding | null {
  if (sink.type === 'webhook') return { type: 'webhook' };
  if (isS3Sink(sink) && sink.format !== 'parquet') {
    return { type: 's3', ...s3EncodingSettings(sink) };
  }
  return null;
}

/**
 * The spec for sinks configured as `sinks` (in the router's order: the workers answer per
 * sink by index); null when no sink's encoding can move (nothing to gain from threads).
 */
export function decodeWorkerSpec(
  decodeFormat: SourceFormat | 'auto',
  decoderOptions: DecoderOptions,
  sinks: readonly SinkConfig[],
  deadLetterConfigured = false,
): DecodeWorkerSpec | null {
  const specs = sinks.map((sink) => ({ filter: sink.filter, encoding: workerEncoding(sink) }));
  if (!specs.some((sink) => sink.encoding)) return null;
  const chunks = chunkerSpec(decodeFormat, decoderOptions, sinks, deadLetterConfigured);
  return { decodeFormat, streamInIds: decoderOptions.streamInIds, sinks: specs, chunks };
}

/**
 * Whole pages go to the workers only when every sink takes chunks: an S3 CSV or JSON Lines
 * sink, gzip or uncompressed, that batches (not exactly-once: its segments are built from
 * records). With a dead-letter destination each chunk carries its events' records packed,
 * for the entries of a batch that gives up (without one the sink retries for ever).
 */
export function chunkerSpec(
  decodeFormat: SourceFormat | 'auto',
  decoderOptions: DecoderOptions,
  sinks: readonly SinkConfig[],
  deadLetterConfigured: boolean,
): PageChunkerSpec | null {
  if (sinks.length === 0) return null;
  const chunkSinks: ChunkSinkSpec[] = [];
  for (const sink of sinks) {
    if (!isS3Sink(sink) || sink.format === 'parquet' || sink.exactlyOnce) return null;
    // zstd frames may be concatenated too, but the zstd binding here compresses whole
    // bodies only (zstd.ts).
    if (sink.compression === 'zstd') return null;
    chunkSinks.push({
      name: sink.name,
      filter: sink.filter,
      encoding: s3EncodingSettings(sink),
      maxEvents: sink.buffer.maxRecords,
      maxBytes: sink.buffer.maxBytes,
      gzipLevel: sink.gzipLevel,
      keepsRecords: deadLetterConfigured,
    });
  }
  return { decodeFormat, streamInIds: decoderOptions.streamInIds, sinks: chunkSinks };
}
