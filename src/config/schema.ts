import { z } from 'zod';
import { SOURCE_FORMATS } from '../core/event.js';

/**
 * The configuration contract (design.md). Every object is strict so a typo'd key fails
 * loudly instead of being ignored, and every default is the documented one.
 */

const positiveInt = () => z.number().int().positive();
const nonNegativeInt = () => z.number().int().nonnegative();

export const bufferSchema = z.strictObject({
  maxRecords: positiveInt().default(50_000),
  maxBytes: positiveInt().default(64 * 1024 * 1024),
  maxAgeMs: positiveInt().default(60_000),
});

export const filterSchema = z.strictObject({
  eventTypes: z.array(z.string().min(1)).default([]),
  formats: z.array(z.enum(SOURCE_FORMATS)).default([]),
});

export const retrySchema = z.strictObject({
  initialDelayMs: positiveInt().default(200),
  maxDelayMs: positiveInt().default(30_000),
  /** After this long a failing batch goes to the dead-letter sink (if one is configured). */
  maxElapsedMs: positiveInt().default(300_000),
});

const bucketName = z
  .string({ error: 'is required (an S3 bucket name)' })
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name (3-63 characters)');

const s3SinkSchema = z
  .strictObject({
    name: z.string().min(1),
    type: z.literal('s3'),
    bucket: bucketName,
    prefix: z.string().default(''),
    format: z.enum(['csv', 'jsonl']).default('jsonl'),
    /** `airship`, `hourly`, or a key template with {eventType} {yyyy} {mm} {dd} {HH} ... */
    layout: z.string().min(1).default('hourly'),
    appKey: z.string().min(1).optional(),
    integrationId: z.string().min(1).optional(),
    compression: z.enum(['gzip', 'none']).default('gzip'),
    buffer: bufferSchema.default(bufferSchema.parse({})),
    filter: filterSchema.default(filterSchema.parse({})),
    retry: retrySchema.default(retrySchema.parse({})),
    /** Bytes buffered plus uploading; above it the shards feeding this sink pause. */
    maxInFlightBytes: positiveInt().default(256 * 1024 * 1024),
    uploadConcurrency: positiveInt().max(64).default(4),
  })
  .superRefine((sink, ctx) => {
    if (sink.layout === 'airship') {
      for (const key of ['appKey', 'integrationId'] as const) {
        if (!sink[key]) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'is required with layout: airship (it is the first part of every key)',
          });
        }
      }
    }
  });

const plannedSinkSchema = z.looseObject({
  name: z.string().min(1),
  type: z.enum(['redshift', 'webhook']),
});

export const sinkSchema = z.union([s3SinkSchema, plannedSinkSchema]).superRefine((sink, ctx) => {
  if (sink.type !== 's3') {
    ctx.addIssue({
      code: 'custom',
      path: ['type'],
      message: `'${sink.type}' sinks are not available in this version yet (available: s3)`,
    });
  }
});

const deadLetterSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('s3'),
    bucket: bucketName,
    prefix: z.string().default('dead-letter/'),
  }),
  z.strictObject({
    type: z.literal('directory'),
    path: z.string().min(1),
  }),
]);

const initialPositions = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'] as const;

export const configSchema = z
  .strictObject({
    application: z
      .string({ error: 'is required (it names the lease table)' })
      .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be 3-255 characters of A-Z a-z 0-9 _ . -'),
    stream: z.strictObject({
      name: z.string({ error: 'is required (a stream name or ARN)' }).min(1),
      initialPosition: z.enum(initialPositions).default('TRIM_HORIZON'),
      initialTimestamp: z.iso.datetime({ offset: true }).nullable().default(null),
    }),
    aws: z.strictObject({ region: z.string().min(1).optional() }).default({}),
    leases: z
      .strictObject({
        table: z.string().min(3).nullable().default(null),
        failoverMs: positiveInt().default(10_000),
        /** KCL renews at a third of the failover time. */
        renewIntervalMs: positiveInt().optional(),
        /** KCL's take pass runs every 2 x failover. */
        takeIntervalMs: positiveInt().optional(),
        shardSyncIntervalMs: positiveInt().default(60_000),
        maxLeasesPerWorker: positiveInt().nullable().default(null),
        workerId: z.string().min(1).nullable().default(null),
      })
      .default({
        table: null,
        failoverMs: 10_000,
        shardSyncIntervalMs: 60_000,
        maxLeasesPerWorker: null,
        workerId: null,
      }),
    consumer: z
      .strictObject({
        maxRecordsPerCall: positiveInt().max(10_000).default(10_000),
        idleTimeBetweenReadsMs: nonNegativeInt().default(1500),
        /** Kinesis allows 5 GetRecords calls per second per shard. */
        minCallIntervalMs: nonNegativeInt().default(200),
      })
      .default({ maxRecordsPerCall: 10_000, idleTimeBetweenReadsMs: 1500, minCallIntervalMs: 200 }),
    decode: z
      .strictObject({ format: z.enum(['auto', ...SOURCE_FORMATS]).default('auto') })
      .default({ format: 'auto' }),
    sinks: z.array(sinkSchema).min(1, 'needs at least one sink'),
    deadLetter: deadLetterSchema.nullable().default(null),
    checkpoint: z
      .strictObject({ intervalMs: positiveInt().default(5000) })
      .default({ intervalMs: 5000 }),
    shutdown: z
      .strictObject({ timeoutMs: positiveInt().default(25_000) })
      .default({ timeoutMs: 25_000 }),
    metrics: z
      .strictObject({
        port: nonNegativeInt().max(65_535).default(9464),
        host: z.string().default('0.0.0.0'),
        /** /readyz fails while an owned shard has not completed a GetRecords call for this long. */
        stallAfterMs: positiveInt().default(300_000),
      })
      .default({ port: 9464, host: '0.0.0.0', stallAfterMs: 300_000 }),
    log: z
      .strictObject({
        level: z
          .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
          .default('info'),
      })
      .default({ level: 'info' }),
  })
  .superRefine((config, ctx) => {
    if (config.stream.initialPosition === 'AT_TIMESTAMP' && !config.stream.initialTimestamp) {
      ctx.addIssue({
        code: 'custom',
        path: ['stream', 'initialTimestamp'],
        message: 'is required with initialPosition: AT_TIMESTAMP',
      });
    }
    const names = new Set<string>();
    config.sinks.forEach((sink, index) => {
      if (names.has(sink.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sinks', index, 'name'],
          message: `'${sink.name}' is used by another sink; names must be unique`,
        });
      }
      names.add(sink.name);
    });
  });

export type RelayConfig = z.infer<typeof configSchema>;
export type S3SinkConfig = z.infer<typeof s3SinkSchema>;
export type SinkConfig = RelayConfig['sinks'][number];
export type DeadLetterConfig = NonNullable<RelayConfig['deadLetter']>;
export type BufferConfig = z.infer<typeof bufferSchema>;
export type RetryConfig = z.infer<typeof retrySchema>;
export type FilterConfig = z.infer<typeof filterSchema>;

export function isS3Sink(sink: SinkConfig): sink is S3SinkConfig {
  return sink.type === 's3';
}
