import { z } from 'zod';
import { bucketName, positiveInt } from './field-schemas.js';

/** Entries held (waiting or being written) by the dead-letter writer; above it shards pause. */
export const DEFAULT_DEAD_LETTER_MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
const deadLetterMaxInFlightBytes = () =>
  positiveInt().default(DEFAULT_DEAD_LETTER_MAX_IN_FLIGHT_BYTES);

export const deadLetterSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('s3'),
    bucket: bucketName,
    prefix: z.string().default('dead-letter/'),
    maxInFlightBytes: deadLetterMaxInFlightBytes(),
  }),
  z.strictObject({
    type: z.literal('directory'),
    path: z.string().min(1),
    maxInFlightBytes: deadLetterMaxInFlightBytes(),
  }),
]);
