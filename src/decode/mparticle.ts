import { z } from 'zod';
import type { JsonValue, RelayEvent } from '../core/event.js';
import type { UserRecord } from '../core/record.js';
import type { DecodeResult } from './decoder.js';
import { parseJsonBytes } from './parse-json.js';
import type { PositionIds } from './record-id.js';
import { describeIssues } from './schema-issues.js';
import { failure, jsonFormatDecoder, jsonTypeOf } from './value-decoder.js';
import { epochToIso, isJsonObject, type JsonObject } from './values.js';
import { bigintAsNumber, expecting } from './zod-json.js';

/*
 * mParticle audience membership messages sent through Firehose (reference:
 * mparticle-kinesis-audience.txt): a JSON envelope { DeliveryStreamName, Record: { Data } }
 * whose Data is base64 of the membership JSON. The reference prints Data unencoded "for
 * clarity"; only the base64 string is accepted, so a producer that skips the encoding
 * is caught rather than half-read.
 */

const envelopeSchema = z.object({
  DeliveryStreamName: z.string().optional(),
  Record: z.object({ Data: z.string({ error: 'expected a base64 string' }) }),
});

const membershipSchema = z.object({
  // "Unix timestamp"; the reference's sample is a string of digits.
  MembershipChangedTimestamp: bigintAsNumber(
    z.union(
      [z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?$/, 'expected a Unix timestamp')],
      expecting('a Unix timestamp'),
    ),
  ),
  // Any integer, not only a safe one (z.int): an id beyond 2^53 is valid, and audienceIdText
  // reads its exact digits.
  AudienceId: bigintAsNumber(
    z.union(
      [z.number().refine(Number.isInteger, 'expected an integer or a string'), z.string().min(1)],
      expecting('an integer or a string'),
    ),
  ),
  AudienceName: z.string().optional(),
  IsMember: z.boolean(),
  UserIdentities: z.record(z.string(), z.string()),
});

export const MEMBER_ADDED = 'audience_member_added';
export const MEMBER_REMOVED = 'audience_member_removed';

// Identity keys in order of preference. CustomerId, Email, Other and
// GoogleAdvertisingIdentifier appear in the reference's samples; the other device keys
// are mParticle's names for the device ids the reference lists.
const USER_KEYS = ['CustomerId', 'Other', 'Email'] as const;
const DEVICE_KEYS = [
  'GoogleAdvertisingIdentifier',
  'AndroidId',
  'AppleVendorIdentifier',
  'AppleAdvertisingIdentifier',
  'RokuAdvertisingIdentifier',
] as const;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Whether a document presents itself as a Firehose PutRecord envelope. */
export function claimsMparticle(doc: JsonObject): boolean {
  const record = doc['Record'];
  return isJsonObject(record) && 'Data' in record;
}

export function decodeMparticleValue(
  value: JsonValue,
  record: UserRecord,
  ids: PositionIds,
): DecodeResult {
  if (!isJsonObject(value)) {
    return failure(`mparticle: expected a Firehose record envelope, got ${jsonTypeOf(value)}`);
  }
  const envelope = envelopeSchema.safeParse(value);
  if (!envelope.success) return failure(describeIssues('mparticle', envelope.error));
  const data = envelope.data.Record.Data;
  if (data.length % 4 !== 0 || !BASE64.test(data)) {
    return failure('mparticle: Record.Data is not valid base64');
  }
  const bytes = Buffer.from(data, 'base64');
  const inner = parseJsonBytes(bytes);
  if (!inner.ok) return failure(`mparticle: Record.Data is ${inner.error}`);
  const membership = membershipSchema.safeParse(inner.value);
  if (!membership.success) {
    return failure(describeIssues('mparticle: Record.Data', membership.error));
  }
  const message = membership.data;
  // A number no Date holds is no "Unix timestamp": a reason, not a silent occurred: null.
  const occurred = epochToIso(message.MembershipChangedTimestamp);
  if (occurred === null) {
    return failure(
      'mparticle: Record.Data: MembershipChangedTimestamp: expected a Unix timestamp within the Date range',
    );
  }
  const identities = message.UserIdentities;
  const audienceId = audienceIdText((inner.value as JsonObject)['AudienceId'], message.AudienceId);
  const attributes: Record<string, string> = {
    AudienceId: audienceId,
    IsMember: String(message.IsMember),
    ...identities,
  };
  if (message.AudienceName !== undefined) attributes['AudienceName'] = message.AudienceName;
  if (envelope.data.DeliveryStreamName !== undefined) {
    attributes['DeliveryStreamName'] = envelope.data.DeliveryStreamName;
  }
  const event: RelayEvent = {
    // Membership messages carry no id; the record position is stable across re-reads.
    id: ids(record),
    type: message.IsMember ? MEMBER_ADDED : MEMBER_REMOVED,
    occurred,
    format: 'mparticle',
    appId: audienceId,
    deviceId: firstIdentity(identities, DEVICE_KEYS),
    userId: firstIdentity(identities, USER_KEYS),
    attributes,
    metrics: {},
    // The envelope as the reference prints it: Data decoded, so sinks and people read
    // the message rather than a base64 blob (an integer beyond 2^53 in it is a bigint,
    // written with its digits: see exact-integers.ts).
    original: {
      ...value,
      Record: { ...(value['Record'] as JsonObject), Data: inner.value },
    },
    record,
  };
  return { ok: true, events: [event] };
}

/**
 * The AudienceId as text: beyond 2^53 the digits as sent (the document's bigint, where
 * the schema checked the rounded number); else the string or number checked.
 */
function audienceIdText(sent: JsonValue | undefined, checked: number | string): string {
  return typeof sent === 'bigint' ? sent.toString() : String(checked);
}

function firstIdentity(
  identities: Readonly<Record<string, string>>,
  keys: readonly string[],
): string | null {
  for (const key of keys) {
    const found = identities[key];
    if (found !== undefined && found !== '') return found;
  }
  return null;
}

export const mparticleDecoder = jsonFormatDecoder('mparticle', decodeMparticleValue);
