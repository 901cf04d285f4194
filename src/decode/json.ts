import type { JsonValue, RelayEvent } from '../core/event.js';
import type { UserRecord } from '../core/record.js';
import type { DecodeResult } from './decoder.js';
import type { PositionIds } from './record-id.js';
import { jsonFormatDecoder } from './value-decoder.js';
import {
  epochToIso,
  isJsonObject,
  isoToUtc,
  numberMap,
  stringMap,
  stringOrNull,
  type JsonObject,
} from './values.js';

/*
 * Generic JSON: any JSON document becomes one event and nothing about its shape is
 * required. A few conventional top-level keys fill the normalized fields (the first key
 * present wins, in the order below); everything stays in `original`.
 */

const ID_KEYS = ['id', 'event_id', 'eventId'];
const TYPE_KEYS = ['type', 'event_type', 'eventType'];
const TIME_KEYS = ['occurred', 'timestamp', 'event_timestamp', 'time'];
const APP_KEYS = ['app_id', 'appId'];
const DEVICE_KEYS = ['device_id', 'deviceId'];
const USER_KEYS = ['user_id', 'userId'];

/** The type of an event whose document names none (a scalar, an array, an object without a type key). */
export const UNTYPED = 'json';

export function decodeJsonValue(
  value: JsonValue,
  record: UserRecord,
  ids: PositionIds,
): DecodeResult {
  if (!isJsonObject(value)) {
    return { ok: true, events: [bareEvent(value, record, ids)] };
  }
  const event: RelayEvent = {
    id: firstString(value, ID_KEYS) ?? ids(record),
    type: firstString(value, TYPE_KEYS) ?? UNTYPED,
    occurred: firstTime(value),
    format: 'json',
    appId: firstString(value, APP_KEYS),
    deviceId: firstString(value, DEVICE_KEYS),
    userId: firstString(value, USER_KEYS),
    attributes: stringMap(value['attributes']),
    metrics: numberMap(value['metrics']),
    original: value,
    record,
  };
  return { ok: true, events: [event] };
}

function bareEvent(value: JsonValue, record: UserRecord, ids: PositionIds): RelayEvent {
  return {
    id: ids(record),
    type: UNTYPED,
    occurred: null,
    format: 'json',
    appId: null,
    deviceId: null,
    userId: null,
    attributes: {},
    metrics: {},
    original: value,
    record,
  };
}

function firstString(doc: JsonObject, keys: readonly string[]): string | null {
  for (const key of keys) {
    const found = stringOrNull(doc[key]);
    if (found !== null) return found;
  }
  return null;
}

/** ISO text, or a number read as epoch seconds or milliseconds (see epochToIso). */
function firstTime(doc: JsonObject): string | null {
  for (const key of TIME_KEYS) {
    const found = doc[key];
    if (typeof found === 'string') return isoToUtc(found);
    if (typeof found === 'number') return epochToIso(found);
  }
  return null;
}

export const jsonDecoder = jsonFormatDecoder('json', decodeJsonValue);
