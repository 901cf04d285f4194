import { jsonText } from './json-text.js';

/**
 * RFC 4180 text, byte for byte what csv-stringify writes with its defaults: a field holding
 * a comma, a quote, CR or LF is quoted, its quotes doubled; LF ends a line. Written out
 * because csv-stringify normalizes its options on every call, which cost more than the
 * rest of the encoding on the per-event path.
 */
export function csvLine(values: readonly string[]): string {
  let line = '';
  for (let index = 0; index < values.length; index += 1) {
    if (index > 0) line += ',';
    line += csvCell(values[index] ?? '');
  }
  return `${line}\n`;
}

/** One field, quoted when it must be. */
export function csvCell(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * The field `csvCell(jsonText(object) ?? '')` for an object of strings and finite
 * numbers (an event's attributes and metrics), written in one pass over its members:
 * `JSON.stringify` and then doubling the quotes of its text cost four times as much. A
 * member JSON would write otherwise than as it is (a key or string holding a quote, a
 * backslash, a control character or a surrogate; any other value, such as a bigint: an
 * integer beyond 2^53), an object that is not a plain one or has a `toJSON`: the JSON
 * text after all (core/json-text.ts).
 */
export function csvJsonObjectCell(object: unknown): string {
  if (
    typeof object !== 'object' ||
    object === null ||
    Array.isArray(object) ||
    typeof (object as { toJSON?: unknown }).toJSON === 'function'
  ) {
    return csvCell(jsonText(object) ?? '');
  }
  const members = object as Readonly<Record<string, unknown>>;
  let cell = '';
  for (const key in members) {
    const value = members[key];
    let member: string;
    if (!Object.hasOwn(members, key) || !JSON_AS_IS.test(key)) {
      return csvCell(jsonText(object));
    } else if (typeof value === 'string' && JSON_AS_IS.test(value)) {
      member = `""${key}"":""${value}""`;
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      member = `""${key}"":${value}`;
    } else {
      return csvCell(jsonText(object));
    }
    cell = cell === '' ? `"{${member}` : `${cell},${member}`;
  }
  // An object with members has quoted keys, so its field is always quoted; `{}` is not.
  return cell === '' ? '{}' : `${cell}}"`;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** Text `JSON.stringify` writes as it is between its quotes (it escapes nothing else). */
// eslint-disable-next-line no-control-regex -- control characters are what JSON escapes
const JSON_AS_IS = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;
