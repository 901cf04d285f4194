import { z } from 'zod';
import { bucketName, iamRoleArn, positiveInt } from './field-schemas.js';
import { bufferSchema, filterSchema, retrySchema } from './sink-common-schema.js';

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
export const columnSource = z
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

/** The key's first column in a sink fed by several streams (see sinks/redshift/columns.ts). */
export const REDSHIFT_STREAM_KEY_COLUMN = 'stream';

export const redshiftSinkSchema = z
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
