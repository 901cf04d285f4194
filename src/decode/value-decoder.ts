import type { JsonValue, SourceFormat } from '../core/event.js';
import type { UserRecord } from '../core/record.js';
import type { Decoder, DecodeResult } from './decoder.js';
import { parseJsonBytes } from './parse-json.js';
import { positionId, type PositionIds } from './record-id.js';

/**
 * The part of a JSON format's decoder that works on an already parsed document. `auto`
 * parses once and hands the same value to whichever format claims it. `ids` makes the id
 * of an event whose document has none.
 */
export type ValueDecoder = (value: JsonValue, record: UserRecord, ids: PositionIds) => DecodeResult;

/**
 * A decoder for one JSON-based format: parse the bytes once, then decode the value. With
 * one stream's position ids unless told otherwise (see createDecoder).
 */
export function jsonFormatDecoder(
  format: SourceFormat,
  decodeValue: ValueDecoder,
  ids: PositionIds = positionId,
): Decoder {
  return {
    format,
    decode(record: UserRecord): DecodeResult {
      const parsed = parseJsonBytes(record.data);
      return parsed.ok ? decodeValue(parsed.value, record, ids) : parsed;
    },
  };
}

export function failure(error: string): DecodeResult {
  return { ok: false, error };
}

/** The JSON type name of a value, for "expected an object, got an array" reasons. */
export function jsonTypeOf(value: JsonValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
