import type { S3Client } from '@aws-sdk/client-s3';
import type { RedshiftSinkConfig } from '../../config/schema.js';
import { errorMessage } from '../../core/errors.js';
import type { MemoryBudget } from '../../core/memory-budget.js';
import type { Logger } from '../../observability/logger.js';
import type { RelayMetrics } from '../../observability/metrics.js';
import type { DeadLetterSink } from '../sink.js';
import { keyColumns, tableColumns } from './columns.js';
import { COLUMN_BYTE_LIMITS } from './merge-sql.js';
import { RedshiftSink } from './redshift-sink.js';
import { S3Staging } from './s3-staging.js';
import { pgConnector, type SqlConnector } from './sql-session.js';
import { createTableLoader } from './table-loader.js';

export interface RedshiftSinkWiring {
  readonly s3: S3Client;
  readonly deadLetter: DeadLetterSink | null;
  /** For events that can never fit the table; defaults to `deadLetter`. */
  readonly rejects?: DeadLetterSink;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  readonly memory?: MemoryBudget;
  /** Tests substitute a recording connector for a Redshift cluster they do not have. */
  readonly connector?: SqlConnector;
  /** The sink is fed by several streams: its merge key starts with the stream. */
  readonly keyedByStream?: boolean;
}

/** Builds a Redshift sink from its config: columns, tables, connection, staging. */
export function createRedshiftSink(config: RedshiftSinkConfig, wiring: RedshiftSinkWiring) {
  const { log } = wiring;
  const keyedByStream = wiring.keyedByStream ?? false;
  const columns = tableColumns(config.columns, keyedByStream);
  const connector =
    wiring.connector ??
    pgConnector({
      url: config.url,
      connectTimeoutMs: config.connectTimeoutMs,
      statementTimeoutMs: config.statementTimeoutMs,
      onConnectionError: (error) =>
        log.warn({ sink: config.name, err: errorMessage(error) }, 'database connection lost'),
    });
  const stagingBucket = config.stagingBucket;
  const redshift =
    config.dialect === 'redshift' && stagingBucket
      ? {
          staging: new S3Staging(wiring.s3, stagingBucket, config.stagingPrefix),
          s3: wiring.s3,
          iamRole: config.iamRole,
          region: config.region,
        }
      : null;
  const loader = createTableLoader(
    {
      dialect: config.dialect,
      tables: { target: config.table, staging: config.stagingTable ?? `${config.table}_staging` },
      columns,
      keys: keyColumns(keyedByStream).map((column) => column.name),
      createTable: config.createTable,
      connector,
    },
    redshift,
  );
  return new RedshiftSink(config, {
    columns,
    limits: COLUMN_BYTE_LIMITS[config.dialect],
    rejects: wiring.rejects ?? wiring.deadLetter,
    loader,
    end: () => connector.end(),
    deadLetter: wiring.deadLetter,
    metrics: wiring.metrics,
    memory: wiring.memory,
    log,
  });
}
