import type { JsonValue, SourceFormat } from '../core/event.js';
import type { UserRecord } from '../core/record.js';
import type { Decoder, DecodeResult } from './decoder.js';
import { parseJsonBytes } from './parse-json.js';

/**
 * The part of a JSON format's decoder that works on an already parsed document. `auto`
 * parses once and hands the same value to whichever format claims it.
 */
export type ValueDecoder = (value: JsonValue, record: UserRecord) => DecodeResult;

/** A decoder for one JSON-based format: parse the bytes once, then decode the value. */
export function jsonFormatDecoder(format: SourceFormat, decodeValue: ValueDecoder): Decoder {
  return {
    format,
    decode(record: UserRecord): DecodeResult {
      const parsed = parseJsonBytes(record.data);
      return parsed.ok ? decodeValue(parsed.value, record) : parsed;
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
