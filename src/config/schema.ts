import { z } from 'zod';
import { SOURCE_FORMATS } from '../core/event.js';
import { DEFAULT_GZIP_LEVEL } from '../sinks/s3/deterministic-gzip.js';
import { zstdAvailable } from '../sinks/s3/zstd.js';

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

export const parquetSchema = z.strictObject({
  /** Codec of the Parquet pages. */
  compression: z.enum(['snappy', 'gzip', 'zstd', 'none']).default('snappy'),
  /** A row group is closed once its rows hold this many bytes (as encoded text). */
  rowGroupBytes: positiveInt().default(16 * 1024 * 1024),
});

const bucketName = z
  .string({ error: 'is required (an S3 bucket name)' })
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name (3-63 characters)');

const iamRoleArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN');

const s3SinkSchema = z
  .strictObject({
    name: z.string().min(1),
    type: z.literal('s3'),
    bucket: bucketName,
    prefix: z.string().default(''),
    format: z.enum(['csv', 'jsonl', 'parquet']).default('jsonl'),
    /** `airship`, `hourly`, `athena`, or a key template with {eventType} {yyyy} {mm} {dd} {HH} ... */
    layout: z.string().min(1).default('hourly'),
    /** Whose time the time placeholders of the directory show: the record's arrival or the event's own. */
    partitionBy: z.enum(['arrival', 'event']).default('arrival'),
    appKey: z.string().min(1).optional(),
    integrationId: z.string().min(1).optional(),
    /** Of CSV and JSON Lines objects (Parquet compresses its pages itself: `parquet.compression`). */
    compression: z.enum(['gzip', 'zstd', 'none']).default('gzip'),
    /**
     * zlib level of `compression: gzip` objects. 6 is zlib's default and what every release
     * wrote; 1 costs about half the CPU for objects ~15 % larger (docs/performance.md).
     */
    gzipLevel: z.number().int().min(1).max(9).default(DEFAULT_GZIP_LEVEL),
    parquet: parquetSchema.default(parquetSchema.parse({})),
    buffer: bufferSchema.default(bufferSchema.parse({})),
    filter: filterSchema.default(filterSchema.parse({})),
    retry: retrySchema.default(retrySchema.parse({})),
    /** Bytes buffered plus uploading; above it the shards feeding this sink pause. */
    maxInFlightBytes: positiveInt().default(256 * 1024 * 1024),
    uploadConcurrency: positiveInt().max(64).default(4),
    /** Deterministic objects: one shard per object, named after its first record (s3-sink.md). */
    exactlyOnce: z.boolean().default(false),
    /** exactlyOnce only: quiet time and slack past a batch's record-time window before it is written anyway. */
    idleFlushMs: positiveInt().default(30_000),
  })
  .superRefine((sink, ctx) => {
    // zstd needs the runtime's zlib to have it (Node >= 22.15); refuse it up front elsewhere.
    const zstdKeys = [
      sink.compression === 'zstd' ? ['compression'] : null,
      sink.parquet.compression === 'zstd' ? ['parquet', 'compression'] : null,
    ];
    for (const path of zstdKeys) {
      if (path && !zstdAvailable()) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `zstd needs Node >= 22.15 (zlib with zstd); this is Node ${process.versions.node}: use gzip`,
        });
      }
    }
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

/** Columns of the Redshift / PostgreSQL table, each filled from a field of the event. */
export const COLUMN_SOURCES = [
  'id',
  'type',
  'occurred',
  'format',
  'appId',
  'deviceId',
  'userId',
  'attributes',
  'metrics',
  'original',
  'stream',
  'partitionKey',
  'arrivalTime',
] as const;
const columnSource = z
  .string()
  .refine(
    (source) =>
      (COLUMN_SOURCES as readonly string[]).includes(source) ||
      /^(attributes|metrics|original)\.[^.]+(\.[^.]+)*$/.test(source),
    `must be one of ${COLUMN_SOURCES.join(', ')}, or attributes.NAME, metrics.NAME, original.PATH`,
  );
const sqlIdentifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,126}$/, 'must be a plain SQL identifier (letters, digits, _)');
const tableName = z
  .string()
  .regex(
    /^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]{0,126}$/,
    'must be a table name, optionally schema-qualified (schema.table)',
  );

/** Always present in a Redshift sink's tables: the merge key (see sinks/redshift/columns.ts). */
export const REDSHIFT_KEY_COLUMNS = [
  'shard_id',
  'sequence_number',
  'sub_sequence_number',
  'event_id',
];

const redshiftSinkSchema = z
  .strictObject({
    name: z.string().min(1),
    type: z.literal('redshift'),
    /** `redshift` stages in S3 and COPYs from a manifest; `postgres` uses COPY FROM STDIN. */
    dialect: z.enum(['redshift', 'postgres']).default('redshift'),
    url: z
      .string({ error: 'is required (a postgres:// URL)' })
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
    table: tableName,
    /** Default: the target table's name with a `_staging` suffix. */
    stagingTable: tableName.optional(),
    createTable: z.boolean().default(false),
    /** Column name -> event field; the key columns are always added. Default: every field. */
    columns: z.record(sqlIdentifier, columnSource).optional(),
    stagingBucket: bucketName.optional(),
    stagingPrefix: z.string().default('redshift-staging/'),
    /** COPY's credentials; without it the worker's own (temporary) credentials are passed. */
    iamRole: iamRoleArn.optional(),
    /** The staging bucket's region, when it differs from the cluster's. */
    region: z.string().min(1).optional(),
    buffer: bufferSchema.default({
      maxRecords: 50_000,
      maxBytes: 64 * 1024 * 1024,
      maxAgeMs: 60_000,
    }),
    filter: filterSchema.default(filterSchema.parse({})),
    retry: retrySchema.default(retrySchema.parse({})),
    maxInFlightBytes: positiveInt().default(256 * 1024 * 1024),
    connectTimeoutMs: positiveInt().default(10_000),
    /** Server-side statement_timeout; the client drops a call silent for 5 s longer. */
    statementTimeoutMs: positiveInt().default(300_000),
  })
  .superRefine((sink, ctx) => {
    if (sink.dialect === 'redshift' && !sink.stagingBucket) {
      ctx.addIssue({
        code: 'custom',
        path: ['stagingBucket'],
        message: 'is required with dialect: redshift (COPY loads from S3)',
      });
    }
    for (const name of Object.keys(sink.columns ?? {})) {
      if (REDSHIFT_KEY_COLUMNS.includes(name.toLowerCase())) {
        ctx.addIssue({
          code: 'custom',
          path: ['columns', name],
          message: `is a key column the sink always fills (${REDSHIFT_KEY_COLUMNS.join(', ')})`,
        });
      }
    }
  });

const webhookSinkSchema = z
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

const SINK_TYPES = ['s3', 'redshift', 'webhook'] as const;

export const sinkSchema = z.discriminatedUnion(
  'type',
  [s3SinkSchema, redshiftSinkSchema, webhookSinkSchema],
  { error: `must be one of: ${SINK_TYPES.join(', ')}` },
);

/** Entries held (waiting or being written) by the dead-letter writer; above it shards pause. */
export const DEFAULT_DEAD_LETTER_MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
const deadLetterMaxInFlightBytes = () =>
  positiveInt().default(DEFAULT_DEAD_LETTER_MAX_IN_FLIGHT_BYTES);

const deadLetterSchema = z.discriminatedUnion('type', [
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

const initialPositions = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'] as const;

const streamSchema = z.strictObject({
  name: z.string({ error: 'is required (a stream name or ARN)' }).min(1),
  initialPosition: z.enum(initialPositions).default('TRIM_HORIZON'),
  initialTimestamp: z.iso.datetime({ offset: true }).nullable().default(null),
});

/** One of several streams (`streams:`): it may be read under a role of its own. */
const multiStreamSchema = streamSchema.extend({
  /** Assumed (sts:AssumeRole) for this stream's Kinesis calls only; the lease table stays ours. */
  roleArn: iamRoleArn.optional(),
});

/** Enhanced fan-out: the registered stream consumer and how SubscribeToShard is spoken. */
const fanoutSchema = z.strictObject({
  /** The registered consumer's name; null: the application name. */
  consumerName: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 _ . -')
    .nullable()
    .default(null),
  /**
   * http2 as AWS serves SubscribeToShard; http1.1 for kinesis-local (kinesis-mock), which
   * serves the event stream over HTTP/1.1 only.
   */
  protocol: z.enum(['http2', 'http1.1']).default('http2'),
});
const FANOUT_DEFAULTS = { consumerName: null, protocol: 'http2' } as const;

export const configSchema = z
  .strictObject({
    application: z
      .string({ error: 'is required (it names the lease table)' })
      .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be 3-255 characters of A-Z a-z 0-9 _ . -'),
    /** The one-stream form; exactly one of `stream` and `streams`. */
    stream: streamSchema.optional(),
    /** Several streams in one application: one lease table in the KCL multi-stream format. */
    streams: z.array(multiStreamSchema).min(1, 'needs at least one stream').optional(),
    aws: z
      .strictObject({
        region: z.string().min(1).optional(),
        /**
         * An AWS call whose connection moves no byte for this long is abandoned and retried:
         * a hung server costs one timeout, never a stuck shard. Large S3 uploads stream
         * their bytes, so this bounds silence, not an upload's length.
         */
        idleTimeoutMs: positiveInt().min(1000, 'must be at least 1000').default(30_000),
      })
      .default({ idleTimeoutMs: 30_000 }),
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
        /** Shard loops holding a GetRecords page at once, process-wide: bounds memory. */
        maxConcurrentReads: positiveInt().default(4),
        /**
         * Threads that decode and encode pages off the main thread; auto: the cores this
         * process may use, less one (the main thread's); 0: all on the main thread. 0 by
         * default: on the 2-core bench the threads cost more CPU per record than they
         * moved off the main thread (docs/performance.md).
         */
        workerThreads: z.union([z.literal('auto'), nonNegativeInt()]).default(0),
        /** polling: GetRecords (shared 2 MB/s per shard); fanout: SubscribeToShard (its own). */
        mode: z.enum(['polling', 'fanout']).default('polling'),
        fanout: fanoutSchema.default(FANOUT_DEFAULTS),
      })
      .default({
        maxRecordsPerCall: 10_000,
        idleTimeBetweenReadsMs: 1500,
        minCallIntervalMs: 200,
        maxConcurrentReads: 4,
        workerThreads: 0,
        mode: 'polling',
        fanout: FANOUT_DEFAULTS,
      }),
    memory: z
      .strictObject({
        /**
         * Bytes of events the whole process may hold (sink buffers and uploads, dead-letter
         * entries, pages in hand); null: derived from the container's memory limit.
         */
        limitBytes: positiveInt().nullable().default(null),
      })
      .default({ limitBytes: null }),
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
    if (config.stream && config.streams) {
      ctx.addIssue({
        code: 'custom',
        path: ['streams'],
        message: 'cannot be given with stream: use stream for one stream, streams for several',
      });
    } else if (!config.stream && !config.streams) {
      ctx.addIssue({
        code: 'custom',
        path: ['stream'],
        message: 'is required (a stream name or ARN), or streams: a list of them',
      });
    }
    const streams = config.streams
      ? config.streams.map((stream, index) => ({ stream, path: ['streams', index] }))
      : config.stream
        ? [{ stream: config.stream, path: ['stream'] }]
        : [];
    const streamNames = new Set<string>();
    for (const { stream, path } of streams) {
      if (stream.initialPosition === 'AT_TIMESTAMP' && !stream.initialTimestamp) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'initialTimestamp'],
          message: 'is required with initialPosition: AT_TIMESTAMP',
        });
      }
      // Exact names: two accounts may each have a stream of the same name (by ARN).
      if (streamNames.has(stream.name)) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'name'],
          message: `'${stream.name}' is listed twice; each stream once`,
        });
      }
      streamNames.add(stream.name);
    }
    const names = new Set<string>();
    config.sinks.forEach((sink, index) => {
      sink.filter.streams.forEach((name, at) => {
        if (!streamNames.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['sinks', index, 'filter', 'streams', at],
            message: `'${name}' is not a configured stream (name it as stream(s).name does)`,
          });
        }
      });
      if (names.has(sink.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['sinks', index, 'name'],
          message: `'${sink.name}' is used by another sink; names must be unique`,
        });
      }
      names.add(sink.name);
      // A worker that lost a lease must notice it (failover) before it could idle-flush
      // that shard's batch, or it could overwrite the new owner's object with a shorter one.
      if (isS3Sink(sink) && sink.exactlyOnce) {
        // Its segments and checkpoint ranges are kept per shard id, which two streams share.
        if (streams.length > 1) {
          ctx.addIssue({
            code: 'custom',
            path: ['sinks', index, 'exactlyOnce'],
            message: 'is not supported with several streams (one exactly-once sink per stream)',
          });
        }
        if (sink.idleFlushMs < 2 * config.leases.failoverMs) {
          ctx.addIssue({
            code: 'custom',
            path: ['sinks', index, 'idleFlushMs'],
            message: `must be at least twice leases.failoverMs (${2 * config.leases.failoverMs}) with exactlyOnce`,
          });
        }
      }
    });
  });

export type RelayConfig = z.infer<typeof configSchema>;
export type S3SinkConfig = z.infer<typeof s3SinkSchema>;
export type RedshiftSinkConfig = z.infer<typeof redshiftSinkSchema>;
export type WebhookSinkConfig = z.infer<typeof webhookSinkSchema>;
export type ColumnSource = z.infer<typeof columnSource>;
export type SinkConfig = RelayConfig['sinks'][number];
export type DeadLetterConfig = NonNullable<RelayConfig['deadLetter']>;
export type BufferConfig = z.infer<typeof bufferSchema>;
export type RetryConfig = z.infer<typeof retrySchema>;
export type FilterConfig = z.infer<typeof filterSchema>;

export type StreamConfig = z.infer<typeof multiStreamSchema>;

/** The configured streams, whichever form the config uses. */
export function configuredStreams(config: RelayConfig): StreamConfig[] {
  return config.streams ?? (config.stream ? [config.stream] : []);
}

export function isS3Sink(sink: SinkConfig): sink is S3SinkConfig {
  return sink.type === 's3';
}
