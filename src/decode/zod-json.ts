import { z } from 'zod';
import type { JsonValue } from '../core/event.js';
import { isJsonObject, type JsonObject } from './values.js';

/**
 * zod building blocks for decoded JSON. `z.custom` checks without copying, so nested
 * documents we only pass through (a device object, an event body) are not rebuilt by zod
 * on every record.
 */
export const jsonObject = z.custom<JsonObject>(
  (value) => isJsonObject(value as JsonValue),
  'expected an object',
);

export const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()], {
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

/** Epoch milliseconds as a JSON number or a string of digits (Pinpoint sends both). */
const EPOCH_MILLIS = 'epoch milliseconds (a number or a string of digits)';
export const epochMillis = z.union(
  [z.number().nonnegative(), z.string().regex(/^\d+$/, `expected ${EPOCH_MILLIS}`)],
  expecting(EPOCH_MILLIS),
);
