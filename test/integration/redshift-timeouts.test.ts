import { S3Client } from '@aws-sdk/client-s3';
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sinkSchema, type RedshiftSinkConfig } from '../../src/config/schema.js';
import { createRedshiftSink } from '../../src/sinks/redshift/create-redshift-sink.js';
import { AckCounter, metricValue, quietSinkDeps, testEvents } from '../support/events.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { eventually, uniqueName } from '../support/stack.js';

function redshiftConfig(fields: Record<string, unknown>): RedshiftSinkConfig {
  const config = sinkSchema.parse({ name: 'warehouse', type: 'redshift', ...fields });
  if (config.type !== 'redshift') throw new Error('not a redshift sink config');
  return config;
}

const quickRetry = { initialDelayMs: 50, maxDelayMs: 500, maxElapsedMs: 600_000 };

/**
 * A TCP proxy that can go silent: while frozen it passes nothing either way and closes
 * nothing, as a connection behind a dead NAT entry or a crashed host does.
 */
async function silentableProxy(target: { host: string; port: number }) {
  let frozen = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk: Buffer) => {
      if (!frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!frozen) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no proxy port');
  return {
    port: address.port,
    freeze: () => (frozen = true),
    /** Thaws, and drops the connections that went silent (their streams are out of step). */
    thaw: () => {
      for (const socket of sockets) socket.destroy();
      frozen = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('redshift sink: bounded database calls', () => {
  let db: TestPostgres;
  const s3 = new S3Client({ region: 'us-east-1' }); // unused by the postgres dialect

  beforeAll(async () => {
    db = await startTestPostgres();
  });
  afterAll(async () => {
    await db?.destroy();
  });

  async function rowCount(table: string): Promise<{ rows: number; keys: number }> {
    const [result] = await db.query<{ rows: string; keys: string }>(
      `SELECT count(*) AS rows, count(DISTINCT (shard_id, sequence_number, sub_sequence_number, event_id)) AS keys FROM ${table}`,
    );
    return { rows: Number(result?.rows), keys: Number(result?.keys) };
  }

  it('a lock held during a merge makes the load time out and retry, shows as a stalled sink, and delivers once the lock is released', async () => {
    const table = uniqueName('locked').replace('-', '_');
    const events = testEvents(400);
    const deps = quietSinkDeps();
    const sink = createRedshiftSink(
      redshiftConfig({
        dialect: 'postgres',
        url: db.url,
        table,
        createTable: true,
        buffer: { maxRecords: 100, maxBytes: 8 * 1024 * 1024, maxAgeMs: 100 },
        retry: quickRetry,
        statementTimeoutMs: 1000,
      }),
      { s3, deadLetter: null, ...deps },
    );
    const acks = new AckCounter();
    for (const event of events.slice(0, 200)) sink.write(event, acks.handle());
    await eventually('the first batches to load', async () =>
      acks.acked === 200 ? true : undefined,
    );

    // Another session takes the target table for itself, as a long VACUUM or an
    // administrator's ALTER would: the next merge waits on that lock.
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      for (const event of events.slice(200)) sink.write(event, acks.handle());
      await eventually(
        'the stuck merge to time out and be retried',
        async () =>
          (await metricValue(deps.metrics, 'kinesis_relay_sink_retries_total')) > 0
            ? true
            : undefined,
        60_000,
        100,
      );
      expect(acks.acked).toBe(200);
      // Stuck while holding events: visible before any delivery succeeds again.
      await eventually(
        'the sink to report no progress',
        async () =>
          (await metricValue(deps.metrics, 'kinesis_relay_sink_progress_age_seconds', {
            sink: 'warehouse',
          })) > 0
            ? true
            : undefined,
        60_000,
        100,
      );
      expect(acks.acked).toBe(200);
    } finally {
      await locker.query('COMMIT');
      await locker.end();
    }

    await sink.flush();
    expect(acks).toMatchObject({ acked: 400, doubles: 0 });
    expect(await rowCount(table)).toEqual({ rows: 400, keys: 400 });
    expect(
      await metricValue(deps.metrics, 'kinesis_relay_sink_progress_age_seconds', {
        sink: 'warehouse',
      }),
    ).toBe(0);
    await sink.close();
  });

  it('a connection that goes silent mid-load is dropped and the load retried on a fresh one', async () => {
    const table = uniqueName('silent').replace('-', '_');
    const events = testEvents(300);
    const target = new URL(db.url);
    const proxy = await silentableProxy({ host: target.hostname, port: Number(target.port) });
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const deps = quietSinkDeps();
    const sink = createRedshiftSink(
      redshiftConfig({
        dialect: 'postgres',
        url: viaProxy.toString(),
        table,
        createTable: true,
        buffer: { maxRecords: 100, maxBytes: 8 * 1024 * 1024, maxAgeMs: 100 },
        retry: quickRetry,
        statementTimeoutMs: 1000,
        connectTimeoutMs: 1000,
      }),
      { s3, deadLetter: null, ...deps },
    );
    try {
      const acks = new AckCounter();
      for (const event of events.slice(0, 100)) sink.write(event, acks.handle());
      await eventually('the first batch to load', async () =>
        acks.acked === 100 ? true : undefined,
      );

      proxy.freeze();
      for (const event of events.slice(100)) sink.write(event, acks.handle());
      await eventually(
        'the silent call to fail and be retried',
        async () =>
          (await metricValue(deps.metrics, 'kinesis_relay_sink_retries_total')) > 0
            ? true
            : undefined,
        60_000,
        100,
      );
      expect(acks.acked).toBe(100);
      proxy.thaw();

      await sink.flush();
      expect(acks).toMatchObject({ acked: 300, doubles: 0 });
      expect(await rowCount(table)).toEqual({ rows: 300, keys: 300 });
    } finally {
      await sink.close();
      await proxy.close();
    }
  });
});
