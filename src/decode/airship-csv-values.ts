import type { JsonValue } from '../core/event.js';
import { jsonText } from '../core/json-text.js';
import { isJsonObject } from './values.js';

/*
 * Where each Airship CSV column's value lives in an RTDS event. The reference lists only
 * column names; the paths follow Airship's RTDS event schema: device fields under
 * `device`, app device attributes under `device.attributes`, everything type-specific
 * under `body`, with the pushes an event refers to as nested objects
 * (`body.last_delivered`, `body.triggering_push`, `body.replacing_push`).
 */

type Path = readonly string[];

const ENVELOPE = new Set(['ID', 'TYPE', 'OCCURRED', 'PROCESSED', 'OFFSET']);
const DEVICE = new Set([
  'NAMED_USER_ID',
  'ANDROID_CHANNEL',
  'IOS_CHANNEL',
  'AMAZON_CHANNEL',
  'CHANNEL',
  'DEVICE_TYPE',
]);
const DEVICE_ATTRIBUTES = new Set([
  'APP_PACKAGE_NAME',
  'APP_VERSION',
  'DEVICE_MODEL',
  'DEVICE_OS',
  'CARRIER',
  'PUSH_OPT_IN',
  'BACKGROUND_PUSH_ENABLED',
  'LOCATION_ENABLED',
  'LOCALE_LANGUAGE_CODE',
  'LOCALE_COUNTRY_CODE',
  'LOCATION_PERMISSION',
  'IANA_TIMEZONE',
  'APP_DEFINED_ID',
]);
const NESTED_PUSHES: ReadonlyArray<readonly [string, string]> = [
  ['LAST_DELIVERED_', 'last_delivered'],
  ['TRIGGERING_', 'triggering_push'],
  ['REPLACING_PUSH_', 'replacing_push'],
];

/** Candidate paths for a column, tried in order; the first that holds a value wins. */
export function columnPaths(column: string): readonly Path[] {
  const name = column.toLowerCase();
  if (ENVELOPE.has(column)) return [[name]];
  if (DEVICE.has(column)) return [['device', name]];
  if (DEVICE_ATTRIBUTES.has(column)) return [['device', 'attributes', name]];
  for (const [prefix, key] of NESTED_PUSHES) {
    if (column.startsWith(prefix)) return [['body', key, name.slice(prefix.length)]];
  }
  // Airship's events call the session `session_id`; the CSV calls it SESSION.
  if (column === 'SESSION') return [['body', 'session_id']];
  // In-app message resolution and expiration bodies name their kind `type`.
  if (column === 'RESOLUTION_TYPE')
    return [
      ['body', 'resolution_type'],
      ['body', 'type'],
    ];
  return [['body', name]];
}

/** A function reading one column's text out of an RTDS event document. */
export function columnReader(column: string): (doc: JsonValue) => string {
  const paths = columnPaths(column);
  return (doc) => {
    for (const path of paths) {
      const found = lookup(doc, path);
      if (found !== undefined && found !== null) return cellText(found);
    }
    return '';
  };
}

function lookup(doc: JsonValue, path: Path): JsonValue | undefined {
  let current: JsonValue | undefined = doc;
  for (const key of path) {
    if (!isJsonObject(current)) return undefined;
    current = current[key];
  }
  return current;
}

/**
 * Raw cell text; quoting is the CSV writer's job. Nested values are kept as JSON. A bigint
 * (an integer beyond 2^53) is its digits as sent.
 */
function cellText(value: JsonValue): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object') return String(value);
  return jsonText(value);
}
