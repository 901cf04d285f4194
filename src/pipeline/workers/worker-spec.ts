import { isS3Sink, type SinkConfig } from '../../config/schema.js';
import type { SourceFormat } from '../../core/event.js';
import type { DecoderOptions } from '../../decode/index.js';
import { s3EncodingSettings, type S3EncodingSettings } from '../../sinks/s3/encoding-settings.js';
import type { RouteFilterConfig } from '../router.js';

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
): DecodeWorkerSpec | null {
  const specs = sinks.map((sink) => ({ filter: sink.filter, encoding: workerEncoding(sink) }));
  if (!specs.some((sink) => sink.encoding)) return null;
  return { decodeFormat, streamInIds: decoderOptions.streamInIds, sinks: specs };
}
