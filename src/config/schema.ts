import { z } from 'zod';
import { SOURCE_FORMATS } from '../core/event.js';
import { deadLetterSchema } from './dead-letter-schema.js';
import { nonNegativeInt, positiveInt } from './field-schemas.js';
import {
  REDSHIFT_STREAM_KEY_COLUMN,
  redshiftSinkSchema,
  type columnSource,
} from './redshift-sink-schema.js';
import { s3SinkSchema } from './s3-sink-schema.js';
import { bufferSchema, filterSchema, retrySchema } from './sink-common-schema.js';
import { FANOUT_DEFAULTS, fanoutSchema, multiStreamSchema, streamSchema } from './stream-schema.js';
import { webhookSinkSchema } from './webhook-sink-schema.js';

export { DEFAULT_DEAD_LETTER_MAX_IN_FLIGHT_BYTES } from './dead-letter-schema.js';
export {
  COLUMN_SOURCES,
  REDSHIFT_KEY_COLUMNS,
  REDSHIFT_STREAM_KEY_COLUMN,
} from './redshift-sink-schema.js';
export { parquetSchema } from './s3-sink-schema.js';
export { bufferSchema, filterSchema, retrySchema } from './sink-common-schema.js';

/**
 * The configuration contract (design.md). Every object is strict so a typo'd key fails
 * loudly instead of being ignored, and every default is the documented one.
 */

const SINK_TYPES = ['s3', 'redshift', 'webhook'] as const;

export const sinkSchema = z.discriminatedUnion(
  'type',
  [s3SinkSchema, redshiftSinkSchema, webhookSinkSchema],
  { error: `must be one of: ${SINK_TYPES.join(', ')}` },
);

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
        failoverMs: positiveInt()
          .min(1000, "must be at least 1000 (a third of it is each lease call's deadline)")
          .default(10_000),
        /**
         * KCL renews at a third of the failover time. Also each lease call's deadline
         * (app-leases.ts): below a few hundred ms DynamoDB calls would time out for good.
         */
        renewIntervalMs: positiveInt()
          .min(250, "must be at least 250 (it is each lease call's deadline)")
          .optional(),
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
         * Threads that read, decode and encode pages off the main thread; 0: all on the
         * main thread. auto (the default): the cores this process may use less one (the
         * main thread's), one thread per 32 MiB of the event budget (one at the default
         * 32 MiB, the main thread reading pages too where a core is left), and only where
         * whole pages can go to them (every sink an S3 CSV / JSON Lines sink without
         * exactlyOnce or zstd: DecodeWorkerSpec.chunks). Records handed over one by
         * one cost more CPU than the threads take off the main thread; whole pages cost
         * less and free it (docs/performance.md).
         */
        workerThreads: z
          .union([z.literal('auto'), nonNegativeInt()], {
            error: 'must be auto or a whole number, 0 or more',
          })
          .default('auto'),
        /** polling: GetRecords (shared 2 MB/s per shard); fanout: SubscribeToShard (its own). */
        mode: z.enum(['polling', 'fanout']).default('polling'),
        fanout: fanoutSchema.default(FANOUT_DEFAULTS),
      })
      .default({
        maxRecordsPerCall: 10_000,
        idleTimeBetweenReadsMs: 1500,
        minCallIntervalMs: 200,
        maxConcurrentReads: 4,
        workerThreads: 'auto',
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
        /**
         * Both families: Node's listen on '::' clears IPV6_V6ONLY (whatever the host's
         * net.ipv6.bindv6only), so IPv4 clients reach it too; an IPv6-only cluster probes
         * the pod's IPv6 address, which 0.0.0.0 refuses. 0.0.0.0 where the kernel has no
         * IPv6 (http-server.ts).
         */
        host: z.string().default('::'),
        /** /readyz fails while an owned shard has not completed a GetRecords call for this long. */
        stallAfterMs: positiveInt().default(300_000),
        /**
         * /healthz fails once the same stall has lasted this long (null: 3 x stallAfterMs; 0:
         * never), so Kubernetes restarts a relay that holds its leases and delivers nothing.
         */
        livenessStallAfterMs: nonNegativeInt().nullable().default(null),
      })
      .default({
        port: 9464,
        host: '::',
        stallAfterMs: 300_000,
        livenessStallAfterMs: null,
      }),
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
    // A lease pauses at its last write + failoverMs less a margin (lease-renewer.ts): renewals
    // further apart than half of that would pause it at every interval, or after one failure.
    const { failoverMs, renewIntervalMs } = config.leases;
    if (renewIntervalMs !== undefined && renewIntervalMs > failoverMs / 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['leases', 'renewIntervalMs'],
        message: `must be at most half of leases.failoverMs (${Math.floor(failoverMs / 2)}), so one failed renewal does not cost the lease`,
      });
    }
    const { stallAfterMs, livenessStallAfterMs } = config.metrics;
    if (livenessStallAfterMs && livenessStallAfterMs < stallAfterMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['metrics', 'livenessStallAfterMs'],
        message: `must be 0 (never) or at least metrics.stallAfterMs (${stallAfterMs}): a stall fails readiness before liveness`,
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
      // Fed by several streams, the sink keys its rows by stream in a column of that name
      // (sinks/redshift/columns.ts): a mapped column of that name filled from another
      // source cannot be both.
      if (
        sink.type === 'redshift' &&
        sink.columns &&
        fedByStreams(sink.filter.streams, streams.length) > 1
      ) {
        for (const [column, source] of Object.entries(sink.columns)) {
          if (column.toLowerCase() === REDSHIFT_STREAM_KEY_COLUMN && source !== 'stream') {
            ctx.addIssue({
              code: 'custom',
              path: ['sinks', index, 'columns', column],
              message: `is the key column a sink fed by several streams keys its rows by (the stream's name); map it to stream or rename it`,
            });
          }
        }
      }
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

/** How many of the configured streams a sink with this `filter.streams` takes events of. */
export function fedByStreams(filter: readonly string[], streamCount: number): number {
  return filter.length > 0 ? Math.min(filter.length, streamCount) : streamCount;
}

export function isS3Sink(sink: SinkConfig): sink is S3SinkConfig {
  return sink.type === 's3';
}
