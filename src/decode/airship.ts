import { z } from 'zod';
import type { JsonValue, RelayEvent } from '../core/event.js';
import type { UserRecord } from '../core/record.js';
import type { DecodeResult } from './decoder.js';
import { describeIssues } from './schema-issues.js';
import { failure, jsonFormatDecoder, jsonTypeOf } from './value-decoder.js';
import {
  isJsonObject,
  isoToUtc,
  numberMap,
  stringMap,
  stringOrNull,
  type JsonObject,
} from './values.js';
import { bigintAsNumber, expecting, isoDateTime, jsonObject } from './zod-json.js';

/*
 * Airship Real-Time Data Streaming events (reference: airship-rtds-aws-s3-kinesis.txt):
 * id, type, occurred, processed, offset, device, body. The reference's UNINSTALL sample
 * has `offset` as a number while Airship's API documents it as a string, so both are read.
 * `device` is missing on some types (PUSH_BODY's CSV header has no device columns) and
 * `body` on others (the UNINSTALL sample), so both are optional.
 */

const deviceSchema = z.object({
  named_user_id: z.string().optional(),
  channel: z.string().optional(),
  ios_channel: z.string().optional(),
  android_channel: z.string().optional(),
  amazon_channel: z.string().optional(),
  device_type: z.string().optional(),
  attributes: jsonObject.optional(),
});

const airshipEventSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  occurred: isoDateTime,
  processed: isoDateTime,
  offset: bigintAsNumber(
    z.union(
      [
        z.string().regex(/^\d+$/, 'expected a decimal offset'),
        // Any integer, not only a safe one (z.int): one beyond 2^53 is a bigint in
        // `original`, its digits as sent.
        z
          .number()
          .nonnegative('expected a decimal offset')
          .refine(Number.isInteger, 'expected a decimal offset'),
      ],
      expecting('a decimal offset'),
    ),
  ).optional(),
  device: deviceSchema.optional(),
  body: jsonObject.optional(),
});

/**
 * Whether a document presents itself as an Airship event: `type` and `occurred` are
 * common words, so one of the stream-position keys RTDS adds must be present too.
 */
export function claimsAirship(doc: JsonObject): boolean {
  return 'type' in doc && 'occurred' in doc && ('offset' in doc || 'processed' in doc);
}

export function decodeAirshipValue(value: JsonValue, record: UserRecord): DecodeResult {
  if (!isJsonObject(value)) {
    return failure(`airship: expected an event object, got ${jsonTypeOf(value)}`);
  }
  const parsed = airshipEventSchema.safeParse(value);
  if (!parsed.success) return failure(describeIssues('airship', parsed.error));
  const event = parsed.data;
  const device = event.device;
  const body = value['body'];
  const normalized: RelayEvent = {
    id: event.id,
    type: event.type,
    occurred: isoToUtc(event.occurred),
    format: 'airship',
    // RTDS events do not name their app; the app key belongs to the integration (the S3
    // sink takes it from config), so there is nothing to fill here.
    appId: null,
    deviceId:
      stringOrNull(device?.channel) ??
      stringOrNull(device?.ios_channel) ??
      stringOrNull(device?.android_channel) ??
      stringOrNull(device?.amazon_channel),
    userId: stringOrNull(device?.named_user_id),
    // The body is the type-specific part of an event (push ids, custom event name and
    // value, location ...), which is what attributes and metrics are for.
    attributes: stringMap(body),
    metrics: numberMap(body),
    // An offset beyond 2^53 is a bigint here (see exact-integers.ts), so the CSV OFFSET
    // column and the JSON output say the offset sent.
    original: value,
    record,
  };
  return { ok: true, events: [normalized] };
}

export const airshipDecoder = jsonFormatDecoder('airship', decodeAirshipValue);
