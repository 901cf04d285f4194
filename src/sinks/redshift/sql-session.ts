import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RelayError, errorMessage } from '../../core/errors.js';

/** One connection for one load: what the sink needs from the database, nothing more. */
export interface SqlSession {
  query(sql: string): Promise<void>;
  /** Runs `COPY ... FROM STDIN` with `body` as the data. */
  copyIn(sql: string, body: Buffer): Promise<void>;
  /** Back to the pool; a session that failed is closed instead. */
  release(failed: boolean): void;
}

export interface SqlConnector {
  connect(): Promise<SqlSession>;
  end(): Promise<void>;
}

/**
 * Sessions over the PostgreSQL wire protocol (Redshift speaks it). One connection: the
 * sink loads one batch at a time, which is also what keeps Redshift's serializable
 * isolation from failing concurrent merges into the same tables.
 */
export function pgConnector(
  url: string,
  connectTimeoutMs: number,
  onIdleError: (error: Error) => void,
): SqlConnector {
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    connectionTimeoutMillis: connectTimeoutMs,
    idleTimeoutMillis: 30_000,
  });
  // A server restart kills idle connections; without a listener that would end the process.
  pool.on('error', onIdleError);
  return {
    async connect() {
      const client = await pool.connect().catch((error: unknown) => {
        throw asRelayError(error);
      });
      // The pool listens only to idle clients: a checked-out one that the server drops
      // (a restart, an administrator's terminate) emits 'error' here, or ends the process.
      let broken = false;
      const onSessionError = (error: Error) => {
        broken = true;
        onIdleError(error);
      };
      client.on('error', onSessionError);
      return {
        async query(sql) {
          await client.query(sql).catch((error: unknown) => {
            throw asRelayError(error);
          });
        },
        async copyIn(sql, body) {
          await pipeline(Readable.from([body]), client.query(copyFrom(sql))).catch(
            (error: unknown) => {
              throw asRelayError(error);
            },
          );
        },
        release(failed) {
          client.off('error', onSessionError);
          client.release(failed || broken);
        },
      };
    },
    end: () => pool.end(),
  };
}

/**
 * SQLSTATE classes that no retry can fix: data exceptions (22) and syntax or access
 * problems (42: a missing table or column, no permission). Everything else (connection
 * loss, serialization failures, a server shutting down) may succeed on a later attempt.
 */
const PERMANENT_SQLSTATE_CLASSES = new Set(['22', '42']);

function asRelayError(error: unknown): RelayError {
  if (error instanceof RelayError) return error;
  const code = sqlState(error);
  const retriable = !code || !PERMANENT_SQLSTATE_CLASSES.has(code.slice(0, 2));
  return new RelayError(code ? `SQLSTATE_${code}` : 'DB_UNAVAILABLE', errorMessage(error), {
    retriable,
    cause: error,
  });
}

function sqlState(error: unknown): string | undefined {
  if (error instanceof pg.DatabaseError && typeof error.code === 'string') return error.code;
  return undefined;
}
