import type { JsonValue, RelayEvent } from '../core/event.js';
import type { UserRecord } from '../core/record.js';
import type { DecodeResult } from './decoder.js';
import {
  type ClientContext,
  MAX_PAYLOAD_BYTES,
  maBatchSchema,
  maEventSchema,
} from './mobile-analytics-schema.js';
import type { PositionIds } from './record-id.js';
import { describeIssues } from './schema-issues.js';
import { failure, jsonFormatDecoder, jsonTypeOf } from './value-decoder.js';
import { isJsonObject, isoToUtc, numberMap, stringMap, type JsonObject } from './values.js';

/*
 * A record holds either a PutEvents batch, { clientContext?, events: [...] }, which
 * becomes one event per element, or one bare event object. Events have no ids of their
 * own, so a batch element's id is its record position plus its index in the batch.
 */

/** Whether a document presents itself as a PutEvents batch or a single PutEvents event. */
export function claimsMobileAnalytics(doc: JsonObject): boolean {
  const events = doc['events'];
  if (Array.isArray(events)) {
    if ('clientContext' in doc) return true;
    const first = events[0];
    return isJsonObject(first) && ('eventType' in first || first['version'] === 'v2.0');
  }
  return 'eventType' in doc && ('version' in doc || 'session' in doc);
}

export function decodeMobileAnalyticsValue(
  value: JsonValue,
  record: UserRecord,
  ids: PositionIds,
): DecodeResult {
  if (!isJsonObject(value)) {
    return failure(`mobile-analytics: expected an object, got ${jsonTypeOf(value)}`);
  }
  if (record.data.byteLength > MAX_PAYLOAD_BYTES) {
    return failure(
      `mobile-analytics: payload is ${record.data.byteLength} bytes; PutEvents allows at most 1024 KB`,
    );
  }
  if (!('events' in value)) return decodeSingle(value, record, ids);

  const parsed = maBatchSchema.safeParse(value);
  if (!parsed.success) return failure(describeIssues('mobile-analytics', parsed.error));
  const context = parsed.data.clientContext;
  const contextValue = value['clientContext'];
  const elements = value['events'] as JsonValue[];
  const events: RelayEvent[] = new Array<RelayEvent>(elements.length);
  for (let index = 0; index < elements.length; index++) {
    const element = elements[index] as JsonObject;
    // Each event's original is itself a one-event PutEvents document: it keeps the
    // client context without repeating the whole batch once per event.
    const original: JsonObject =
      contextValue === undefined
        ? { events: [element] }
        : { clientContext: contextValue, events: [element] };
    events[index] = toEvent(element, context, ids(record, index), original, record);
  }
  return { ok: true, events };
}

function decodeSingle(value: JsonObject, record: UserRecord, ids: PositionIds): DecodeResult {
  const parsed = maEventSchema.safeParse(value);
  if (!parsed.success) return failure(describeIssues('mobile-analytics', parsed.error));
  return { ok: true, events: [toEvent(value, undefined, ids(record), value, record)] };
}

function toEvent(
  element: JsonObject,
  context: ClientContext | undefined,
  id: string,
  original: JsonValue,
  record: UserRecord,
): RelayEvent {
  return {
    id,
    // Both checked by the schema before we get here.
    type: element['eventType'] as string,
    occurred: isoToUtc(element['timestamp'] as string),
    format: 'mobile-analytics',
    appId: context?.services.mobile_analytics.app_id ?? null,
    // client_id identifies "this installation instance of your app": a device, not a user.
    deviceId: context?.client.client_id ?? null,
    userId: null,
    attributes: stringMap(element['attributes']),
    metrics: numberMap(element['metrics']),
    original,
    record,
  };
}

export const mobileAnalyticsDecoder = jsonFormatDecoder(
  'mobile-analytics',
  decodeMobileAnalyticsValue,
);
