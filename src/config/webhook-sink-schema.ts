import { z } from 'zod';
import { positiveInt } from './field-schemas.js';
import { bufferSchema, filterSchema, retrySchema } from './sink-common-schema.js';

export const webhookSinkSchema = z
  .strictObject({
    name: z.string().min(1),
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    format: z.enum(['json', 'firehose']).default('json'),
    /** Sent as X-Amz-Firehose-Access-Key with format: firehose. */
    accessKey: z.string().min(1).optional(),
    /** HMAC-SHA256 key for the signature header; no signature without it. */
    signingSecret: z.string().min(1).optional(),
    signatureHeader: z.string().min(1).default('X-Relay-Signature'),
    timestampHeader: z.string().min(1).default('X-Relay-Timestamp'),
    compression: z.enum(['gzip', 'none']).default('none'),
    headers: z.record(z.string().min(1), z.string()).default({}),
    timeoutMs: positiveInt().default(30_000),
    maxConcurrency: positiveInt().max(256).default(4),
    /** partitionKey: maxConcurrency lanes, in order per partition key; none: unordered. */
    ordering: z.enum(['partitionKey', 'none']).default('partitionKey'),
    buffer: bufferSchema.default({ maxRecords: 500, maxBytes: 1024 * 1024, maxAgeMs: 1000 }),
    filter: filterSchema.default(filterSchema.parse({})),
    retry: retrySchema.default(retrySchema.parse({})),
    maxInFlightBytes: positiveInt().default(64 * 1024 * 1024),
  })
  .superRefine((sink, ctx) => {
    if (sink.accessKey && sink.format !== 'firehose') {
      ctx.addIssue({
        code: 'custom',
        path: ['accessKey'],
        message: 'is only sent with format: firehose (use headers for other formats)',
      });
    }
  });
