import { parse as parseLossless } from 'lossless-json';
import type { JsonValue } from '../core/event.js';

/*
 * JSON.parse rounds an integer beyond 2^53 (12345678901234567890 becomes
 * 12345678901234567000), and a sink would then write a number the user never sent. Such an
 * integer needs at least 16 digits in a row, which almost no record has: a cheap scan of
 * the bytes says whether a record might, and only then is it parsed a second time,
 * losslessly, with those integers as bigints (core/json-text.ts writes them back as sent).
 */

const DIGITS_OF_UNSAFE_INTEGER = 16; // 2^53 = 9007199254740992; every 15-digit integer is safe.

/**
 * Whether the bytes hold a run of 16 or more digits that may be an integer literal (not a
 * fraction's or an exponent's digits, nor the tail of a word). Every 16th byte is looked
 * at, as any such run covers one of them; only a digit there is followed up, and only if
 * the byte 8 before or after it is one too (a run of 16 reaches that far to one side).
 * Measured at 60-75 ns on 500-byte Pinpoint events, a fortieth of their JSON.parse; a
 * regular expression (/\d{16}/) cost a fifth to two thirds of it. A match inside a string
 * costs the second parse, never a wrong value.
 */
export function mayHoldUnsafeInteger(bytes: Uint8Array): boolean {
  const length = bytes.length;
  for (let at = DIGITS_OF_UNSAFE_INTEGER - 1; at < length; at += DIGITS_OF_UNSAFE_INTEGER) {
    if (!isDigit(bytes[at] ?? 0)) continue;
    if (!isDigit(bytes[at - 8] ?? 0) && !isDigit(bytes[at + 8] ?? 0)) continue;
    let start = at;
    while (start > 0 && isDigit(bytes[start - 1] ?? 0)) start -= 1;
    let end = at + 1;
    while (end < length && isDigit(bytes[end] ?? 0)) end += 1;
    if (end - start >= DIGITS_OF_UNSAFE_INTEGER && !continuesToken(bytes[start - 1])) return true;
    at = end; // the next look is 16 bytes past this run's end
  }
  return false;
}

function isDigit(byte: number): boolean {
  return byte >= 0x30 && byte <= 0x39;
}

/** `.` (a fraction), `+`, `e`/`E` (an exponent), a letter or `_` (a word): no integer starts here. */
function continuesToken(byte: number | undefined): boolean {
  if (byte === undefined) return false;
  const lower = byte | 0x20;
  return byte === 0x2e || byte === 0x2b || byte === 0x5f || (lower >= 0x61 && lower <= 0x7a);
}

const INTEGER = /^-?\d+$/;

/**
 * The document again with its integers beyond 2^53 as bigints, or `parsed` (JSON.parse's
 * value of the same text) when it has none. JSON.parse has already accepted the text; a
 * duplicate key keeps its last value, as JSON.parse does. Should lossless-json still
 * refuse the text, the rounded value is the best there is.
 */
export function withExactIntegers(text: string, parsed: JsonValue): JsonValue {
  let found = false;
  const parseNumber = (literal: string): number | bigint => {
    const number = Number(literal);
    if (Number.isSafeInteger(number) || !INTEGER.test(literal)) return number;
    found = true;
    return BigInt(literal);
  };
  try {
    const exact = parseLossless(text, null, {
      parseNumber,
      onDuplicateKey: ({ newValue }) => newValue,
    }) as JsonValue;
    return found ? exact : parsed;
  } catch {
    return parsed;
  }
}
