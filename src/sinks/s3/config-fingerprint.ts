import { createHash } from 'node:crypto';
import type { S3SinkConfig } from '../../config/schema.js';
import { DEFAULT_GZIP_LEVEL } from './deterministic-gzip.js';

/**
 * Bump when the bytes written for the same events change (encoding, CSV quoting, gzip
 * settings): objects written by the new code then get new keys instead of overwriting.
 */
const ENCODING_VERSION = 1;

/** Everything besides the records that decides how records are cut into objects and encoded. */
export interface DeterminismInputs {
  readonly sink: Pick<S3SinkConfig, 'format' | 'compression' | 'layout' | 'buffer'> &
    Partial<Pick<S3SinkConfig, 'parquet' | 'partitionBy' | 'gzipLevel'>> & {
      // Not `filter.streams`: an exactly-once sink reads one stream, so it selects nothing.
      readonly filter: Pick<S3SinkConfig['filter'], 'eventTypes' | 'formats'>;
    };
  /** `decode.format`: which events (types, fields) a record becomes. */
  readonly decodeFormat: string;
}

/**
 * A canonical string of the determinism-relevant settings. Keys, prefixes and names are
 * left out: they change the object key by themselves.
 */
export function determinismFingerprint(inputs: DeterminismInputs): string {
  const { sink } = inputs;
  // Settings added later enter only when set away from their default, so the keys of
  // sinks that do not use them stay what earlier releases wrote.
  const parquet =
    sink.format === 'parquet' && sink.parquet
      ? { parquet: [sink.parquet.compression, sink.parquet.rowGroupBytes] }
      : {};
  const partitionBy = sink.partitionBy === 'event' ? { partitionBy: 'event' } : {};
  // Another level writes other bytes for the same lines (the text objects, a Parquet
  // sink's JSON Lines objects for events without a CSV shape included).
  const gzipLevel =
    sink.compression === 'gzip' &&
    sink.gzipLevel !== undefined &&
    sink.gzipLevel !== DEFAULT_GZIP_LEVEL
      ? { gzipLevel: sink.gzipLevel }
      : {};
  return JSON.stringify({
    v: ENCODING_VERSION,
    format: sink.format,
    compression: sink.compression,
    layout: sink.layout,
    buffer: [sink.buffer.maxRecords, sink.buffer.maxBytes, sink.buffer.maxAgeMs],
    eventTypes: [...sink.filter.eventTypes].sort(),
    formats: [...sink.filter.formats].sort(),
    decode: inputs.decodeFormat,
    ...parquet,
    ...partitionBy,
    ...gzipLevel,
  });
}

/**
 * The 8 hex characters in an exactly-once object's name: the fingerprint plus the CSV
 * columns of the object (a new column list in a release must not reuse old keys).
 */
export function objectConfigHash(fingerprint: string, csvHeader: readonly string[] | null): string {
  return createHash('sha256')
    .update(fingerprint)
    .update('\n')
    .update(csvHeader ? JSON.stringify(csvHeader) : '')
    .digest('hex')
    .slice(0, 8);
}
