import { z } from 'zod';
import type { JsonValue } from '../core/event.js';
import { isJsonObject, MAX_DATE_MILLIS, type JsonObject } from './values.js';

/**
 * zod building blocks for decoded JSON. `z.custom` checks without copying, so nested
 * documents we only pass through (a device object, an event body) are not rebuilt by zod
 * on every record.
 */
export const jsonObject = z.custom<JsonObject>(
  (value) => isJsonObject(value as JsonValue),
  'expected an object',
);

/**
 * `schema` for a value that may be a bigint (an integer beyond 2^53, see exact-integers.ts),
 * checked as the number JSON.parse makes of it: such a document is accepted, or refused
 * with the same reason, as when every number was rounded. Only `original` and the
 * normalized fields read from it see the bigint.
 */
export function bigintAsNumber<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (typeof value === 'bigint' ? Number(value) : value), schema);
}

export const scalar = z.union([z.string(), z.number(), z.bigint(), z.boolean(), z.null()], {
  error: 'expected a string, number, boolean or null',
});

/**
 * An error option for schemas whose own message would be a bare "Invalid input" (unions):
 * say whether the field is missing or what it should have been.
 */
export function expecting(what: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => (issue.input === undefined ? 'required' : `expected ${what}`) };
}

/** ISO-8601 date-time with Z or an offset, as Airship and Mobile Analytics send it. */
export const isoDateTime = z.iso.datetime({
  offset: true,
  error: (issue) => (issue.input === undefined ? 'required' : 'expected an ISO-8601 date-time'),
});

const IN_DATE_RANGE = 'expected epoch milliseconds within the Date range';

/** Epoch milliseconds as a JSON number or a string of digits (Pinpoint sends both). */
const EPOCH_MILLIS = 'epoch milliseconds (a number or a string of digits)';
export const epochMillis = bigintAsNumber(
  z.union(
    [
      z.number().nonnegative().max(MAX_DATE_MILLIS, IN_DATE_RANGE),
      z
        .string()
        .regex(/^\d+$/, { error: `expected ${EPOCH_MILLIS}`, abort: true })
        .refine((digits) => Number(digits) <= MAX_DATE_MILLIS, IN_DATE_RANGE),
    ],
    expecting(EPOCH_MILLIS),
  ),
);
