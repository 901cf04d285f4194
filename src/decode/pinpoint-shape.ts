import type { JsonValue } from '../core/event.js';
import { isJsonObject, MAX_DATE_MILLIS, type JsonObject } from './values.js';

/*
 * Fast acceptance for the Pinpoint schemas (pinpoint.ts). A full zod parse per event was
 * ~20 % of decoding a Pinpoint record (profiled: zod's object walk, union tries and
 * allocations for every field). These checks say "zod would accept this document" with
 * plain type tests and no allocation; when they say no, the decoder still runs the zod
 * schema, so every failure — and its message — comes from zod exactly as before.
 *
 * The one rule: each check may only accept what its zod schema accepts (it may reject
 * more). pinpoint-shape.test.ts holds them to that on mutants of the reference events.
 */

type Check = (value: JsonValue | undefined) => boolean;

const optional =
  (check: Check): Check =>
  (value) =>
    value === undefined || check(value);

const nonEmptyString: Check = (value) => typeof value === 'string' && value.length > 0;
const string: Check = (value) => typeof value === 'string';
/** z.number() rejects Infinity, which JSON.parse makes of 1e400. */
const finiteNumber = (value: JsonValue | undefined): value is number =>
  typeof value === 'number' && Number.isFinite(value);
const DIGITS = /^\d+$/;

/** zod-json's epochMillis: a non-negative number or a string of digits, within Date's range. */
const epochMillis: Check = (value) =>
  (finiteNumber(value) && value >= 0 && value <= MAX_DATE_MILLIS) ||
  (typeof value === 'string' && DIGITS.test(value) && Number(value) <= MAX_DATE_MILLIS);

const jsonObject: Check = (value) => isJsonObject(value);

/** z.record(z.string(), scalar). */
const scalarRecord: Check = (value) => {
  if (!isJsonObject(value)) return false;
  for (const key in value) {
    const member = value[key];
    if (
      member !== null &&
      typeof member !== 'string' &&
      typeof member !== 'boolean' &&
      !finiteNumber(member)
    ) {
      return false;
    }
  }
  return true;
};

/** z.record(z.string(), z.number()). */
const numberRecord: Check = (value) => {
  if (!isJsonObject(value)) return false;
  for (const key in value) if (!finiteNumber(value[key])) return false;
  return true;
};

const application: Check = (value) => isJsonObject(value) && nonEmptyString(value['app_id']);

const optionalString = optional(string);
const client: Check = (value) =>
  isJsonObject(value) && optionalString(value['client_id']) && optionalString(value['cognito_id']);

const optionalEpoch = optional(epochMillis);
const optionalObject = optional(jsonObject);
const optionalAttributes = optional(scalarRecord);
const optionalMetrics = optional(numberRecord);
const optionalClient = optional(client);

/** True only if pinpoint.ts's appEventSchema accepts the document. */
export function acceptsAppEvent(doc: JsonObject): boolean {
  return (
    nonEmptyString(doc['event_type']) &&
    epochMillis(doc['event_timestamp']) &&
    optionalEpoch(doc['arrival_timestamp']) &&
    optionalString(doc['event_version']) &&
    application(doc['application']) &&
    optionalClient(doc['client']) &&
    optionalObject(doc['device']) &&
    optionalObject(doc['session']) &&
    optionalAttributes(doc['attributes']) &&
    optionalMetrics(doc['metrics'])
  );
}

/** True only if pinpoint.ts's smsEventSchema accepts the document. */
export function acceptsSmsEvent(doc: JsonObject): boolean {
  return (
    nonEmptyString(doc['event_type']) &&
    optionalString(doc['account_id']) &&
    nonEmptyString(doc['application_key']) &&
    optional(nonEmptyString)(doc['unique_id']) &&
    epochMillis(doc['timestamp']) &&
    optionalEpoch(doc['arrival_timestamp']) &&
    optionalEpoch(doc['timestamp_created']) &&
    optionalAttributes(doc['attributes']) &&
    optionalMetrics(doc['metrics']) &&
    optionalObject(doc['facets']) &&
    optionalObject(doc['additional_properties'])
  );
}
