import type { JsonValue } from '../core/event.js';
import { mayHoldUnsafeInteger, withExactIntegers } from './exact-integers.js';

export type ParseResult =
  { readonly ok: true; readonly value: JsonValue } | { readonly ok: false; readonly error: string };

// `fatal: true` so bytes that are not valid UTF-8 fail here instead of being silently
// replaced with U+FFFD and then "parsing" into a document nobody sent. A leading BOM is
// dropped (ignoreBOM defaults to false), which JSON.parse would otherwise reject.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses bytes as JSON, once unless they may hold an integer beyond 2^53 (see
 * exact-integers.ts); the reason says which step failed.
 */
export function parseJsonBytes(data: Uint8Array): ParseResult {
  if (data.byteLength === 0) return { ok: false, error: 'not JSON: the record is empty' };
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return { ok: false, error: 'not JSON: the record is not valid UTF-8' };
  }
  let value: JsonValue;
  try {
    // JSON.parse yields only JSON values, which is exactly what JsonValue describes.
    value = JSON.parse(text) as JsonValue;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, error: `not JSON: ${detail}` };
  }
  return { ok: true, value: mayHoldUnsafeInteger(data) ? withExactIntegers(text, value) : value };
}
