import { z } from 'zod';
import { DEFAULT_GZIP_LEVEL } from '../sinks/s3/deterministic-gzip.js';
import { DEFAULT_S3_CALL_TIMEOUT_MS } from '../sinks/s3/s3-call-deadline.js';
import { zstdAvailable } from '../sinks/s3/zstd.js';
import { bucketName, positiveInt } from './field-schemas.js';
import { bufferSchema, filterSchema, retrySchema } from './sink-common-schema.js';

export const parquetSchema = z.strictObject({
  /** Codec of the Parquet pages. */
  compression: z.enum(['snappy', 'gzip', 'zstd', 'none']).default('snappy'),
  /** A row group is closed once its rows hold this many bytes (as encoded text). */
  rowGroupBytes: positiveInt().default(16 * 1024 * 1024),
});

export const s3SinkSchema = z
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
    /**
     * Deadline of each S3 call (PutObject, UploadPart, CreateMultipartUpload ...), plus 1 s
     * per 16 KiB of the call's body; past it the call is aborted and the batch retried.
     */
    callTimeoutMs: positiveInt().default(DEFAULT_S3_CALL_TIMEOUT_MS),
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
