/**
 * Throughput of the Redshift sink (postgres dialect) and the webhook sink, against a real
 * PostgreSQL and a local node:http receiver. Prints rates and, as the machine-independent
 * number, the ratio to a bare baseline on the same machine:
 *   - Redshift: rows/s through the sink (COPY into staging + merge per batch) versus one
 *     bare COPY FROM STDIN of the same rows into a plain table;
 *   - webhook: events/s through the sink versus the receiver's own ceiling is not measured;
 *     the ratio given is gzip versus no compression.
 * Run: npx tsx test/bench/sink-throughput.ts [events]
 */
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { sinkSchema } from '../../src/config/schema.js';
import { createRedshiftSink } from '../../src/sinks/redshift/create-redshift-sink.js';
import { csvRow, tableColumns } from '../../src/sinks/redshift/columns.js';
import { createWebhookSink } from '../../src/sinks/webhook/create-webhook-sink.js';
import type { Sink } from '../../src/sinks/sink.js';
import { AckCounter, quietSinkDeps, testEvents, writeAll } from '../support/events.js';
import { startHttpReceiver } from '../support/http-receiver.js';
import { startTestPostgres } from '../support/postgres.js';

const count = Number(process.argv[2] ?? 50_000);
const events = testEvents(count);

async function timed(sink: Sink): Promise<number> {
  const acks = new AckCounter();
  const started = performance.now();
  await writeAll(sink, events, acks);
  const seconds = (performance.now() - started) / 1000;
  if (acks.acked !== count) throw new Error(`only ${acks.acked} of ${count} acknowledged`);
  await sink.close();
  return count / seconds;
}

async function redshift(): Promise<void> {
  const db = await startTestPostgres();
  try {
    const config = sinkSchema.parse({
      name: 'bench',
      type: 'redshift',
      dialect: 'postgres',
      url: db.url,
      table: 'bench_events',
      createTable: true,
      buffer: { maxRecords: 10_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 60_000 },
    });
    if (config.type !== 'redshift') throw new Error('unreachable');
    const deps = {
      s3: new S3Client({ region: 'us-east-1' }),
      deadLetter: null,
      ...quietSinkDeps(),
    };
    const sinkRate = await timed(createRedshiftSink(config, deps));

    // Baseline: the same rows, one bare COPY into a table without key or merge.
    const columns = tableColumns();
    const rows = Buffer.concat(events.map((event) => csvRow(columns, event)));
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await client.query('CREATE TABLE bench_bare (LIKE bench_events_staging)');
    const started = performance.now();
    await pipeline(
      Readable.from([rows]),
      client.query(copyFrom('COPY bench_bare FROM STDIN WITH (FORMAT csv)')),
    );
    const bareRate = count / ((performance.now() - started) / 1000);
    await client.end();
    const [check] = await db.query<{ n: string }>('SELECT count(*) AS n FROM bench_events');
    console.log(
      `redshift sink (postgres dialect): ${Math.round(sinkRate)} rows/s (${check?.n} rows); ` +
        `bare COPY FROM STDIN ${Math.round(bareRate)} rows/s; ratio ${(sinkRate / bareRate).toFixed(2)}`,
    );
  } finally {
    await db.destroy();
  }
}

async function webhook(): Promise<void> {
  const receiver = await startHttpReceiver(() => ({ status: 200 }));
  try {
    const rate = async (compression: 'gzip' | 'none') => {
      const config = sinkSchema.parse({
        name: 'bench',
        type: 'webhook',
        url: receiver.url,
        signingSecret: 'bench',
        compression,
        buffer: { maxRecords: 500, maxBytes: 1024 * 1024, maxAgeMs: 1000 },
      });
      if (config.type !== 'webhook') throw new Error('unreachable');
      return timed(createWebhookSink(config, { deadLetter: null, ...quietSinkDeps() }));
    };
    const plain = await rate('none');
    const gzip = await rate('gzip');
    console.log(
      `webhook sink (json, 500/request, 4 in flight, signed): ${Math.round(plain)} events/s; ` +
        `with gzip ${Math.round(gzip)} events/s; ratio gzip/plain ${(gzip / plain).toFixed(2)}`,
    );
  } finally {
    await receiver.close();
  }
}

await redshift();
await webhook();
