import type { S3Client } from '@aws-sdk/client-s3';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Column } from './columns.js';
import {
  createTableStatements,
  mergeTransaction,
  postgresCopy,
  redshiftCopy,
  type CopyCredentials,
  type Dialect,
  type TableNames,
} from './merge-sql.js';
import type { S3Staging } from './s3-staging.js';
import type { SqlConnector, SqlSession } from './sql-session.js';

const gzipAsync = promisify(gzip);

/** Loads one batch of CSV rows into the target table, exactly once per key. */
export interface TableLoader {
  /** Idempotent: a retry of the same batch id loads nothing twice. Resolves bytes sent. */
  load(batchId: string, rows: Buffer): Promise<number>;
  /** Removes what `load` staged for the batch, after it was merged or given up. */
  cleanup(batchId: string): Promise<void>;
}

export interface TableLoaderSettings {
  readonly dialect: Dialect;
  readonly tables: TableNames;
  readonly columns: readonly Column[];
  /** The merge key's column names (default: the record position and event id). */
  readonly keys?: readonly string[];
  readonly createTable: boolean;
  readonly connector: SqlConnector;
}

export interface RedshiftStagingSettings {
  readonly staging: S3Staging;
  readonly s3: S3Client;
  readonly iamRole?: string;
  readonly region?: string;
}

/**
 * Both dialects share the transaction; they differ in how the staging table is filled:
 * `COPY FROM STDIN` over the connection (postgres) or `COPY ... MANIFEST` from S3 (redshift).
 */
export function createTableLoader(
  settings: TableLoaderSettings,
  redshift: RedshiftStagingSettings | null,
): TableLoader {
  let tablesReady = !settings.createTable;
  const staged = new Map<string, readonly string[]>();

  async function inSession(work: (session: SqlSession) => Promise<void>): Promise<void> {
    const session = await settings.connector.connect();
    let failed = true;
    try {
      if (!tablesReady) {
        for (const sql of createTableStatements(
          settings.dialect,
          settings.tables,
          settings.columns,
          settings.keys,
        )) {
          await session.query(sql);
        }
        tablesReady = true;
      }
      await work(session);
      failed = false;
    } finally {
      // A failed session may sit in an aborted transaction: close it rather than reuse it.
      session.release(failed);
    }
  }

  async function runMerge(session: SqlSession, copy: string, stdin: Buffer | null): Promise<void> {
    for (const sql of mergeTransaction(settings.tables, settings.columns, copy, settings.keys)) {
      if (sql === copy && stdin) await session.copyIn(sql, stdin);
      else await session.query(sql);
    }
  }

  if (!redshift) {
    const copy = postgresCopy(settings.tables.staging, settings.columns);
    return {
      async load(_batchId, rows) {
        await inSession((session) => runMerge(session, copy, rows));
        return rows.byteLength;
      },
      cleanup: async () => undefined,
    };
  }

  return {
    async load(batchId, rows) {
      const body = await gzipAsync(rows);
      // Known before the upload starts, so a half-staged batch is cleaned up too.
      staged.set(batchId, redshift.staging.keysFor(batchId, 1));
      const manifestUrl = await redshift.staging.stage(batchId, [body]);
      const credentials = await copyCredentials(redshift);
      const copy = redshiftCopy(
        settings.tables.staging,
        settings.columns,
        manifestUrl,
        credentials,
        redshift.region,
      );
      await inSession((session) => runMerge(session, copy, null));
      return body.byteLength;
    },
    async cleanup(batchId) {
      const keys = staged.get(batchId);
      staged.delete(batchId);
      if (keys) await redshift.staging.remove(keys);
    },
  };
}

/** The role when one is configured, else the worker's own (possibly temporary) keys. */
async function copyCredentials(settings: RedshiftStagingSettings): Promise<CopyCredentials> {
  if (settings.iamRole) return { iamRole: settings.iamRole };
  const identity = await settings.s3.config.credentials();
  return {
    accessKeyId: identity.accessKeyId,
    secretAccessKey: identity.secretAccessKey,
    sessionToken: identity.sessionToken,
  };
}
