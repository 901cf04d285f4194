import { z } from 'zod';
import type { JsonValue, RelayEvent } from '../core/event.js';
import type { UserRecord } from '../core/record.js';
import type { DecodeResult } from './decoder.js';
import { acceptsAppEvent, acceptsSmsEvent } from './pinpoint-shape.js';
import type { PositionIds } from './record-id.js';
import { describeIssues } from './schema-issues.js';
import { failure, jsonFormatDecoder, jsonTypeOf } from './value-decoder.js';
import { isJsonObject, millisToIso, numberMap, stringMap, type JsonObject } from './values.js';
import { bigintAsNumber, epochMillis, jsonObject, scalar } from './zod-json.js';

/*
 * Amazon Pinpoint event streams (reference: pinpoint-event-streaming.md). App and email
 * events share one shape (application / client / device / session); SMS events have
 * another (account_id, application_key, unique_id, timestamp ...), told apart by their
 * `_SMS.` event type prefix — the document spells it `_SMS.SUCCESS` in the example and
 * `_sms.success` in the type list, so the prefix is matched case-insensitively. The
 * prefix alone does not pick the SMS shape: the document's Event table (event_type,
 * event_timestamp, application ...) describes every event, and Pinpoint streams SMS events
 * in that app shape too. A `_sms.` event with an `application` and no `application_key`
 * is decoded as an app event (see usesSmsShape).
 */

const attributes = z.record(z.string(), scalar);
const metrics = z.record(z.string(), bigintAsNumber(z.number()));

/** @internal exported for pinpoint-shape.test.ts */
export const appEventSchema = z.object({
  event_type: z.string().min(1),
  event_timestamp: epochMillis,
  arrival_timestamp: epochMillis.optional(),
  event_version: z.string().optional(),
  application: z.object({ app_id: z.string().min(1) }),
  client: z
    .object({ client_id: z.string().optional(), cognito_id: z.string().optional() })
    .optional(),
  device: jsonObject.optional(),
  session: jsonObject.optional(),
  attributes: attributes.optional(),
  metrics: metrics.optional(),
});

/** @internal exported for pinpoint-shape.test.ts */
export const smsEventSchema = z.object({
  event_type: z.string().min(1),
  account_id: z.string().optional(),
  application_key: z.string().min(1),
  unique_id: z.string().min(1).optional(),
  timestamp: epochMillis,
  arrival_timestamp: epochMillis.optional(),
  timestamp_created: epochMillis.optional(),
  attributes: attributes.optional(),
  metrics: metrics.optional(),
  facets: jsonObject.optional(),
  additional_properties: jsonObject.optional(),
});

type AppEvent = z.infer<typeof appEventSchema>;
type SmsEvent = z.infer<typeof smsEventSchema>;

export function isSmsEventType(eventType: string): boolean {
  return eventType.length > 5 && eventType.slice(0, 5).toLowerCase() === '_sms.';
}

/**
 * Whether a document is decoded with the SMS shape: an `_sms.` type, unless it is in the
 * app shape (an `application` and no `application_key`). A document with neither key keeps
 * the SMS shape, whose reasons (application_key: required) fit an SMS-typed event best.
 */
export function usesSmsShape(doc: JsonObject, eventType: string): boolean {
  return isSmsEventType(eventType) && ('application_key' in doc || !('application' in doc));
}

/**
 * Whether a document presents itself as a Pinpoint event. `event_type` alone is too
 * common a key, so one of the keys only Pinpoint's envelope has must be there as well.
 */
export function claimsPinpoint(doc: JsonObject): boolean {
  const eventType = doc['event_type'];
  if (typeof eventType !== 'string') return false;
  return (
    'application' in doc ||
    'event_version' in doc ||
    'arrival_timestamp' in doc ||
    'application_key' in doc ||
    isSmsEventType(eventType)
  );
}

export function decodePinpointValue(
  value: JsonValue,
  record: UserRecord,
  ids: PositionIds,
): DecodeResult {
  if (!isJsonObject(value)) {
    return failure(`pinpoint: expected an event object, got ${jsonTypeOf(value)}`);
  }
  const eventType = value['event_type'];
  if (typeof eventType === 'string' && usesSmsShape(value, eventType)) {
    return decodeSms(value, record, ids);
  }
  // A valid event skips zod (see pinpoint-shape.ts); zod still decides, and words, every failure.
  let event: AppEvent;
  if (acceptsAppEvent(value)) {
    event = value as unknown as AppEvent;
  } else {
    const parsed = appEventSchema.safeParse(value);
    if (!parsed.success) return failure(describeIssues('pinpoint', parsed.error));
    event = parsed.data;
  }
  const normalized: RelayEvent = {
    // App and email events carry no id of their own in the documented shape.
    id: ids(record),
    type: event.event_type,
    occurred: millisToIso(Number(event.event_timestamp)),
    format: 'pinpoint',
    appId: event.application.app_id,
    // client_id is per app installation (the device); cognito_id is the identity the
    // app's Cognito pool assigned, the closest thing to a user in this shape.
    deviceId: event.client?.client_id || null,
    userId: event.client?.cognito_id || null,
    attributes: stringMap(value['attributes']),
    metrics: numberMap(value['metrics']),
    original: value,
    record,
  };
  return { ok: true, events: [normalized] };
}

function decodeSms(value: JsonObject, record: UserRecord, ids: PositionIds): DecodeResult {
  let event: SmsEvent;
  if (acceptsSmsEvent(value)) {
    event = value as unknown as SmsEvent;
  } else {
    const parsed = smsEventSchema.safeParse(value);
    if (!parsed.success) return failure(describeIssues('pinpoint (SMS event)', parsed.error));
    event = parsed.data;
  }
  const normalized: RelayEvent = {
    id: event.unique_id ?? ids(record),
    type: event.event_type,
    // `timestamp` is the SMS shape's event time (as event_timestamp is the app shape's);
    // timestamp_created is when the record was made and is kept in `original`.
    occurred: millisToIso(Number(event.timestamp)),
    format: 'pinpoint',
    appId: event.application_key,
    deviceId: null,
    userId: null,
    attributes: stringMap(value['attributes']),
    metrics: numberMap(value['metrics']),
    original: value,
    record,
  };
  return { ok: true, events: [normalized] };
}

export const pinpointDecoder = jsonFormatDecoder('pinpoint', decodePinpointValue);
