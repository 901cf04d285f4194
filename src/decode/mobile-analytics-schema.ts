import { z } from 'zod';
import { isoDateTime, jsonObject } from './zod-json.js';
import type { JsonObject } from './values.js';

/*
 * Amazon Mobile Analytics PutEvents, as its reference defines it
 * (mobile-analytics-put-events.txt): the request body's events and the
 * x-amz-Client-Context header, which a Kinesis record carries as `clientContext`.
 */

/** PutEvents rejects a payload above 1024 KB with 413. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** "any combination of up to 40 attributes and metrics per custom event" */
export const MAX_CUSTOM_FIELDS = 40;
export const MAX_KEY_CHARS = 50;
export const MAX_VALUE_CHARS = 200;

const PLATFORMS = [
  'iphoneos',
  'android',
  'windowsphone',
  'blackberry',
  'macos',
  'windows',
  'linux',
];

/**
 * Whether text is within a limit counted in characters (code points), as the reference
 * counts them; the UTF-16 length decides without iterating whenever it is within.
 */
function withinChars(text: string, limit: number): boolean {
  return text.length <= limit || [...text].length <= limit;
}

type Issues = z.core.$RefinementCtx;

/*
 * Attributes and metrics are checked in one loop rather than as zod records with refined
 * keys: per-key sub-schemas made this the most expensive part of decoding a batch
 * (zod also copied both maps), and the loop reports the same paths and messages.
 */
function checkAttributes(attributes: JsonObject, issues: Issues): number {
  let count = 0;
  for (const key in attributes) {
    count++;
    const value = attributes[key];
    if (!withinChars(key, MAX_KEY_CHARS)) {
      issues.addIssue({
        code: 'custom',
        path: ['attributes', key],
        message: `keys are at most ${MAX_KEY_CHARS} characters`,
      });
    }
    if (typeof value !== 'string') {
      issues.addIssue({
        code: 'custom',
        path: ['attributes', key],
        message: 'expected a string value',
      });
    } else if (!withinChars(value, MAX_VALUE_CHARS)) {
      issues.addIssue({
        code: 'custom',
        path: ['attributes', key],
        message: `values are at most ${MAX_VALUE_CHARS} characters`,
      });
    }
  }
  return count;
}

function checkMetrics(metrics: JsonObject, issues: Issues): number {
  let count = 0;
  for (const key in metrics) {
    count++;
    if (!withinChars(key, MAX_KEY_CHARS)) {
      issues.addIssue({
        code: 'custom',
        path: ['metrics', key],
        message: `keys are at most ${MAX_KEY_CHARS} characters`,
      });
    }
    // Finite: JSON.parse makes 1e400 Infinity, which numberMap would drop without a word.
    // A bigint is an integer beyond 2^53, kept exact (see exact-integers.ts).
    const metric = metrics[key];
    if (typeof metric !== 'bigint' && (typeof metric !== 'number' || !Number.isFinite(metric))) {
      issues.addIssue({
        code: 'custom',
        path: ['metrics', key],
        message: 'expected a numeric value',
      });
    }
  }
  return count;
}

export const maEventSchema = z
  .object({
    eventType: z.string().min(1),
    timestamp: isoDateTime,
    version: z.literal('v2.0', { error: 'version must be "v2.0"' }),
    session: z.object({ id: z.string().min(1), startTimestamp: isoDateTime }).optional(),
    attributes: jsonObject.optional(),
    metrics: jsonObject.optional(),
  })
  .superRefine((event, issues) => {
    const count =
      (event.attributes === undefined ? 0 : checkAttributes(event.attributes, issues)) +
      (event.metrics === undefined ? 0 : checkMetrics(event.metrics, issues));
    // Types starting with "_" are the SDKs' standard events (_session.start ...); the
    // 40-field limit is stated for custom events only.
    if (count > MAX_CUSTOM_FIELDS && !event.eventType.startsWith('_')) {
      issues.addIssue({
        code: 'custom',
        message: `a custom event has at most ${MAX_CUSTOM_FIELDS} attributes and metrics, got ${count}`,
      });
    }
  });

export const clientContextSchema = z.object({
  client: z.object({
    client_id: z.string().min(1),
    app_title: z.string().min(1),
    app_version_name: z.string().optional(),
    app_version_code: z.string().optional(),
    app_package_name: z.string().optional(),
  }),
  custom: z.record(z.string(), z.string()).optional(),
  env: z.object({
    // Matched case-insensitively: the SDKs have sent "iPhoneOS" and "Android".
    platform: z.string().refine((name) => PLATFORMS.includes(name.toLowerCase()), {
      message: `platform must be one of ${PLATFORMS.join(', ')}`,
    }),
    model: z.string().optional(),
    make: z.string().optional(),
    platform_version: z.string().optional(),
    locale: z.string().optional(),
  }),
  services: z.object({ mobile_analytics: z.object({ app_id: z.string().min(1) }) }),
});

export const maBatchSchema = z.object({
  clientContext: clientContextSchema.optional(),
  events: z.array(maEventSchema).min(1, 'a PutEvents batch holds at least one event'),
});

export type ClientContext = z.infer<typeof clientContextSchema>;
