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

export interface PgConnectorOptions {
  readonly url: string;
  readonly connectTimeoutMs: number;
  /** The server cancels a statement running longer (lock waits included). */
  readonly statementTimeoutMs: number;
  readonly onConnectionError: (error: Error) => void;
}

/**
 * How long past `statementTimeoutMs` the client waits for the server's cancellation
 * before it drops the connection itself: a dead host or a silent NAT never answers.
 */
export const CLIENT_GRACE_MS = 5000;

/** TCP keepalive: a peer that vanished is noticed by the kernel even between calls. */
const KEEPALIVE_INITIAL_DELAY_MS = 10_000;

/** The socket under a pg client; not in pg's types, but what `client.end()` cannot close. */
interface WithSocket {
  readonly connection?: { readonly stream?: { destroy(): void } };
}

/**
 * Sessions over the PostgreSQL wire protocol (Redshift speaks it). One connection: the
 * sink loads one batch at a time, which is also what keeps Redshift's serializable
 * isolation from failing concurrent merges into the same tables.
 *
 * Every call is bounded: the server's `statement_timeout` cancels a statement that runs or
 * waits for a lock too long, and a call still unanswered `CLIENT_GRACE_MS` later has its
 * connection destroyed. Either way the call fails retriably and the session is closed, so
 * the retry runs on a fresh connection instead of the sink waiting for ever.
 */
export function pgConnector(options: PgConnectorOptions): SqlConnector {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: 1,
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_INITIAL_DELAY_MS,
  });
  // A server restart kills idle connections; without a listener that would end the process.
  pool.on('error', options.onConnectionError);
  const configured = new WeakSet<pg.PoolClient>();
  const deadlineMs = options.statementTimeoutMs + CLIENT_GRACE_MS;
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
        options.onConnectionError(error);
      };
      client.on('error', onSessionError);
      const bounded = async (what: string, call: Promise<unknown>): Promise<void> => {
        try {
          await withDeadline(call, deadlineMs, () => {
            broken = true;
            (client as WithSocket).connection?.stream?.destroy();
            return new RelayError(
              'DB_TIMEOUT',
              `${what} got no answer within ${deadlineMs} ms; connection dropped`,
              { retriable: true },
            );
          });
        } catch (error) {
          throw asRelayError(error);
        }
      };
      const session: SqlSession = {
        query: (sql) => bounded('query', client.query(sql)),
        copyIn: (sql, body) =>
          bounded('COPY', pipeline(Readable.from([body]), client.query(copyFrom(sql)))),
        release(failed) {
          client.off('error', onSessionError);
          client.release(failed || broken);
        },
      };
      if (!configured.has(client)) {
        // Per connection, as a plain SET: Redshift takes no startup options.
        await session
          .query(`SET statement_timeout = ${options.statementTimeoutMs}`)
          .catch((error: unknown) => {
            session.release(true);
            throw error;
          });
        configured.add(client);
      }
      return session;
    },
    end: () => pool.end(),
  };
}

/** Settles as `call` does, or rejects with `onExpire()` once `ms` pass first. */
async function withDeadline(
  call: Promise<unknown>,
  ms: number,
  onExpire: () => Error,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onExpire()), ms);
  });
  // The call may still fail after the deadline (its socket was destroyed): already handled.
  call.catch(() => undefined);
  try {
    await Promise.race([call, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The load failed because of what a row holds (a value COPY cannot convert, a NULL in a
 * NOT NULL column): no retry of the same rows can succeed, but the other rows can load.
 * `line` is the 1-based row of the COPY input PostgreSQL names, when it does.
 */
export class RowLoadError extends RelayError {
  constructor(
    code: string,
    message: string,
    readonly line: number | undefined,
    cause: unknown,
  ) {
    super(code, message, { retriable: false, cause });
  }
}

/**
 * SQLSTATE classes that no retry can fix: data exceptions (22) and syntax or access
 * problems (42: a missing table or column, no permission). Everything else (connection
 * loss, serialization failures, a server shutting down) may succeed on a later attempt.
 */
const PERMANENT_SQLSTATE_CLASSES = new Set(['22', '42']);

/** Rows at fault: data exceptions, and NOT NULL or CHECK violations (not key conflicts). */
const ROW_SQLSTATES = new Set(['23502', '23514']);

/**
 * Redshift reports every COPY load error (bad value, wrong column count, value too long)
 * as SQLSTATE XX000, internal error, pointing at STL_LOAD_ERRORS for the row.
 */
const REDSHIFT_LOAD_ERROR = /stl_load_errors/i;

export function asRelayError(error: unknown): RelayError {
  if (error instanceof RelayError) return error;
  const code = sqlState(error);
  const message = errorMessage(error);
  if (
    code &&
    (code.startsWith('22') ||
      ROW_SQLSTATES.has(code) ||
      (code === 'XX000' && REDSHIFT_LOAD_ERROR.test(message)))
  ) {
    return new RowLoadError(`SQLSTATE_${code}`, message, copyLine(error), error);
  }
  const retriable = !code || !PERMANENT_SQLSTATE_CLASSES.has(code.slice(0, 2));
  return new RelayError(code ? `SQLSTATE_${code}` : 'DB_UNAVAILABLE', message, {
    retriable,
    cause: error,
  });
}

function sqlState(error: unknown): string | undefined {
  if (error instanceof pg.DatabaseError && typeof error.code === 'string') return error.code;
  return undefined;
}

/** PostgreSQL's context of a COPY error: `COPY staging, line 38, column user_id: ...`. */
function copyLine(error: unknown): number | undefined {
  if (!(error instanceof pg.DatabaseError)) return undefined;
  const line = /\bCOPY [^,]+, line (\d+)/.exec(error.where ?? '')?.[1];
  return line === undefined ? undefined : Number(line);
}
