import { isS3Sink, type SinkConfig } from '../../config/schema.js';
import type { SourceFormat } from '../../core/event.js';
import { s3EncodingSettings, type S3EncodingSettings } from '../../sinks/s3/encoding-settings.js';
import type { RouteFilterConfig } from '../router.js';

/**
 * What a decode worker needs to do a page's work as the main thread would: the decoder's
 * format and, per sink in the router's order, its filter and (for the sinks whose encoding
 * moves to the workers) how it encodes. Plain data: it is the workers' `workerData`.
 */
export interface DecodeWorkerSpec {
  readonly decodeFormat: SourceFormat | 'auto';
  readonly sinks: readonly WorkerSinkSpec[];
}

export interface WorkerSinkSpec {
  readonly filter: RouteFilterConfig;
  /** null: this sink encodes on the main thread (webhook, Redshift, Parquet). */
  readonly s3: S3EncodingSettings | null;
}

/**
 * Whether a sink's encoding can run in a worker: S3 text objects (CSV, JSON Lines). A
 * Parquet row stays on the main thread (its cells are an array per event, not one line);
 * webhook and Redshift sinks encode there too (left for later: each has its own format).
 */
export function encodesInWorker(settings: S3EncodingSettings): boolean {
  return settings.format !== 'parquet';
}

/**
 * The spec for sinks configured as `sinks` (in the router's order: the workers answer per
 * sink by index); null when no sink's encoding can move (nothing to gain from threads).
 */
export function decodeWorkerSpec(
  decodeFormat: SourceFormat | 'auto',
  sinks: readonly SinkConfig[],
): DecodeWorkerSpec | null {
  const specs = sinks.map((sink) => ({
    filter: sink.filter,
    s3: isS3Sink(sink) ? s3EncodingSettings(sink) : null,
  }));
  if (!specs.some((sink) => sink.s3 && encodesInWorker(sink.s3))) return null;
  return { decodeFormat, sinks: specs };
}
