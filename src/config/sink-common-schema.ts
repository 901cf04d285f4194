import { z } from 'zod';
import { SOURCE_FORMATS } from '../core/event.js';
import { positiveInt } from './field-schemas.js';

/** The settings every sink type has: batching, which events it takes, retries. */

export const bufferSchema = z.strictObject({
  maxRecords: positiveInt().default(50_000),
  maxBytes: positiveInt().default(64 * 1024 * 1024),
  maxAgeMs: positiveInt().default(60_000),
});

export const filterSchema = z.strictObject({
  eventTypes: z.array(z.string().min(1)).default([]),
  formats: z.array(z.enum(SOURCE_FORMATS)).default([]),
  /** Streams whose events the sink takes, named as in `stream(s).name`; empty: all. */
  streams: z.array(z.string().min(1)).default([]),
});

export const retrySchema = z.strictObject({
  initialDelayMs: positiveInt().default(200),
  maxDelayMs: positiveInt().default(30_000),
  /** After this long a failing batch goes to the dead-letter sink (if one is configured). */
  maxElapsedMs: positiveInt().default(300_000),
  /**
   * Attempts per batch before giving up (Lambda's MaximumRetryAttempts, counting the first);
   * null: only time bounds them. A webhook batch out of attempts is bisected first.
   */
  maxAttempts: positiveInt().nullable().default(null),
  /**
   * A failing batch whose oldest record arrived in Kinesis longer ago than this is given
   * up on (Lambda's MaximumRecordAgeInSeconds); null: no bound by age.
   */
  maxRecordAgeMs: positiveInt().nullable().default(null),
});
