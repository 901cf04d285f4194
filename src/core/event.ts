import type { UserRecord } from './record.js';

/** The input formats the relay understands. */
export const SOURCE_FORMATS = [
  'pinpoint',
  'airship',
  'mparticle',
  'mobile-analytics',
  'json',
  'raw',
] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

/**
 * A JSON value as it came out of a decoder: what `original` may hold. An integer the
 * document wrote beyond 2^53 (which a number would round) is a bigint, written back with
 * its digits by core/json-text.ts.
 */
export type JsonValue =
  string | number | bigint | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * One normalized event. Decoders fill it from each format's own fields; sinks read only
 * this shape (plus `original` for formats that keep the source document verbatim).
 */
export interface RelayEvent {
  /** Stable id: the source's own event id, else derived from the record position. */
  readonly id: string;
  /** Event type as the source names it (OPEN, _session.start, _email.send ...). */
  readonly type: string;
  /** When the event happened (ISO-8601, UTC), or null when the source does not say. */
  readonly occurred: string | null;
  readonly format: SourceFormat;
  /** Pinpoint app id, Airship app key, mParticle audience id ... when the source has one. */
  readonly appId: string | null;
  readonly deviceId: string | null;
  readonly userId: string | null;
  readonly attributes: Readonly<Record<string, string>>;
  /** Numbers; a bigint where the document wrote an integer beyond 2^53 (see JsonValue). */
  readonly metrics: Readonly<Record<string, number | bigint>>;
  /** The decoded source document (for `raw`: the bytes as a base64 string). */
  readonly original: JsonValue;
  /** The Kinesis record this event came from. */
  readonly record: UserRecord;
}
