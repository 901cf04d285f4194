import type { JsonValue } from '../core/event.js';
import { jsonText } from '../core/json-text.js';

/**
 * Conversions from decoded JSON to the normalized event's field types. They are lenient
 * on purpose: each format's zod schema has already rejected what breaks that format.
 */

export type JsonObject = { [key: string]: JsonValue };

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function stringOrNull(value: JsonValue | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/**
 * The members of an object as strings; nested values become JSON text, nulls are left out.
 * An object that is already that (every member a string: the usual attributes) is
 * returned as it is, not copied: a copy per event was garbage on the per-record path.
 * Events are read-only, so sharing it with `original` is safe.
 */
export function stringMap(value: JsonValue | undefined): Record<string, string> {
  if (!isJsonObject(value)) return {};
  if (everyMember(value, isString)) return value as Record<string, string>;
  const out: Record<string, string> = {};
  for (const key in value) {
    const member = value[key];
    if (member === null || member === undefined) continue;
    out[key] = typeof member === 'string' ? member : jsonText(member);
  }
  return out;
}

/**
 * The finite numeric members of an object (a bigint too: an integer beyond 2^53, kept
 * exact). Numeric strings do not count: in the formats we read, a quoted number is an
 * identifier (a transaction id, an offset), not a measure. An object of finite numbers
 * only is returned as it is (see stringMap).
 */
export function numberMap(value: JsonValue | undefined): Record<string, number | bigint> {
  if (!isJsonObject(value)) return {};
  if (everyMember(value, isFiniteNumber)) return value as Record<string, number>;
  const out: Record<string, number | bigint> = {};
  for (const key in value) {
    const member = value[key];
    if ((typeof member === 'number' && Number.isFinite(member)) || typeof member === 'bigint') {
      out[key] = member;
    }
  }
  return out;
}

const isString = (member: JsonValue | undefined): boolean => typeof member === 'string';
const isFiniteNumber = (member: JsonValue | undefined): boolean =>
  typeof member === 'number' && Number.isFinite(member);

/**
 * Whether the object is what the copying loop would build: every member passes, and no
 * key is `__proto__` (JSON.parse makes it an own member; the loop's assignment to a new
 * object would set the prototype instead, so a copy would not have it).
 */
function everyMember(value: JsonObject, passes: (member: JsonValue | undefined) => boolean) {
  for (const key in value) {
    if (key === '__proto__' || !passes(value[key])) return false;
  }
  return true;
}

/** ISO-8601 UTC text for epoch milliseconds, or null when out of the Date range. */
export function millisToIso(millis: number): string | null {
  if (!Number.isInteger(millis)) {
    const date = new Date(millis);
    return Number.isNaN(date.getTime()) ? null : date.toISOString();
  }
  return isoOfIntegerMillis(millis);
}

/**
 * The events of a page are close in time, so the text up to the seconds is reused when
 * the second was seen last (a `new Date` + `toISOString` per event was 4 % of decode →
 * CSV). Two seconds are kept: each event asks for two times (its own and its record's
 * arrival, a few hundred milliseconds apart), and with one slot the two evicted each
 * other whenever they fell in different seconds (3 % of the relay's main thread).
 * Integer milliseconds only; anything else goes through Date.
 */
let recentSecond = Number.NaN;
let recentPrefix = '';
let olderSecond = Number.NaN;
let olderPrefix = '';

/**
 * The last millisecond a Date holds (±100,000,000 days from the epoch). A larger "epoch
 * milliseconds" is no time at all: accepted, it became `occurred: null` without a word.
 */
export const MAX_DATE_MILLIS = 8.64e15;

function isoOfIntegerMillis(millis: number): string | null {
  if (Math.abs(millis) > MAX_DATE_MILLIS) return null;
  const second = Math.floor(millis / 1000);
  let prefix: string;
  if (second === recentSecond) {
    prefix = recentPrefix;
  } else if (second === olderSecond) {
    prefix = olderPrefix;
    olderSecond = recentSecond;
    olderPrefix = recentPrefix;
    recentSecond = second;
    recentPrefix = prefix;
  } else {
    const date = new Date(second * 1000);
    if (Number.isNaN(date.getTime())) return null;
    prefix = date.toISOString().slice(0, -4); // "2024-01-02T03:04:05."
    olderSecond = recentSecond;
    olderPrefix = recentPrefix;
    recentSecond = second;
    recentPrefix = prefix;
  }
  const fraction = millis - second * 1000;
  return `${prefix}${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}Z`;
}

/** A record's arrival time as ISO text (records of one PutRecords call share it). */
export function dateToIso(date: Date): string {
  return isoOfIntegerMillis(date.getTime()) ?? date.toISOString();
}

/**
 * Epoch seconds or milliseconds, told apart by size: 1e11 seconds is the year 5138 but
 * 1e11 milliseconds is 1973, so no real event time is ambiguous. Used where a source says
 * only "Unix timestamp" (mParticle) or says nothing at all (generic JSON).
 */
export function epochToIso(value: number | string): string | null {
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(number) || (typeof value === 'string' && value.trim() === '')) return null;
  return millisToIso(Math.abs(number) < 1e11 ? secondsToMillis(number) : number);
}

/**
 * Seconds as milliseconds. A decimal fraction is not exact in binary: 1079008361.251 * 1000
 * is 1079008361250.9999, which Date truncated to .250. A product within a thousandth of a
 * millisecond of a whole one is that whole millisecond; a real sub-millisecond part (.2514)
 * is left to truncate as before. Whole seconds (the usual case) take the first return.
 */
function secondsToMillis(seconds: number): number {
  const millis = seconds * 1000;
  if (Number.isInteger(millis)) return millis;
  const nearest = Math.round(millis);
  return Math.abs(millis - nearest) < 1e-3 ? nearest : millis;
}

// What Date#toISOString prints for years 0000-9999: `2015-05-03T02:32:12.088Z`.
const CANONICAL_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** ISO-8601 text normalized to UTC with milliseconds, or null when unreadable. */
export function isoToUtc(value: string): string | null {
  // Airship and the Mobile Analytics SDKs already send this form; skipping the Date
  // round trip saves a parse and an allocation per event on the hot path. An impossible
  // date in this form (month 13) still goes through Date.parse and comes out null.
  if (CANONICAL_UTC.test(value) && !Number.isNaN(Date.parse(value))) return value;
  const millis = Date.parse(value);
  return Number.isNaN(millis) ? null : millisToIso(millis);
}
