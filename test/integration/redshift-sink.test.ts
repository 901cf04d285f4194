import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sinkSchema, type RedshiftSinkConfig } from '../../src/config/schema.js';
import { startS3rver, type RunningEmulator } from '../../src/demo/emulators.js';
import { validateConfig } from '../../src/config/load.js';
import { csvShapeFor } from '../../src/decode/csv-columns.js';
import { createSinks } from '../../src/sinks/create-sinks.js';
import { createRedshiftSink } from '../../src/sinks/redshift/create-redshift-sink.js';
import type { CopyManifest } from '../../src/sinks/redshift/s3-staging.js';
import type { SqlConnector } from '../../src/sinks/redshift/sql-session.js';
import { gunzipSync } from 'node:zlib';
import {
  AckCounter,
  CollectedDeadLetters,
  metricValue,
  quietSinkDeps,
  testEvents,
  writeAll,
} from '../support/events.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { eventually, uniqueName } from '../support/stack.js';

function redshiftConfig(fields: Record<string, unknown>): RedshiftSinkConfig {
  const config = sinkSchema.parse({ name: 'warehouse', type: 'redshift', ...fields });
  if (config.type !== 'redshift') throw new Error('not a redshift sink config');
  return config;
}

const quickRetry = { initialDelayMs: 50, maxDelayMs: 500, maxElapsedMs: 600_000 };

describe('redshift sink, postgres dialect, against a real PostgreSQL', () => {
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

  it('loads 10,000 events once, and a replay of the same batches adds no row', async () => {
    const table = uniqueName('events').replace('-', '_');
    const events = testEvents(10_000);
    const config = redshiftConfig({
      dialect: 'postgres',
      url: db.url,
      table,
      createTable: true,
      buffer: { maxRecords: 1000, maxBytes: 8 * 1024 * 1024, maxAgeMs: 200 },
      retry: quickRetry,
    });
    const deps = quietSinkDeps();
    const sink = createRedshiftSink(config, { s3, deadLetter: null, ...deps });
    const acks = new AckCounter();
    const started = performance.now();
    await writeAll(sink, events, acks);
    const seconds = (performance.now() - started) / 1000;
    console.log(`redshift sink (postgres dialect): ${Math.round(events.length / seconds)} rows/s`);
    expect(acks).toMatchObject({ acked: 10_000, doubles: 0 });
    expect(await rowCount(table)).toEqual({ rows: 10_000, keys: 10_000 });
    expect(
      await metricValue(deps.metrics, 'kinesis_relay_sink_records_total', { outcome: 'delivered' }),
    ).toBe(10_000);

    // A crash before the checkpoint: the same events come again, batched differently.
    const replay = createRedshiftSink(
      { ...config, buffer: { ...config.buffer, maxRecords: 777 } },
      { s3, deadLetter: null, ...quietSinkDeps() },
    );
    const replayAcks = new AckCounter();
    await writeAll(replay, events.slice(2_500), replayAcks);
    await writeAll(replay, events, replayAcks);
    expect(replayAcks.acked).toBe(17_500);
    expect(await rowCount(table)).toEqual({ rows: 10_000, keys: 10_000 });
    expect(await rowCount(`${table}_staging`)).toEqual({ rows: 0, keys: 0 });

    // The mapped columns carry the event's fields, quotes and newlines intact.
    const [row] = await db.query<Record<string, unknown>>(
      `SELECT * FROM ${table} WHERE event_id = '${events[7]?.id}'`,
    );
    expect(row).toMatchObject({
      event_type: 'CUSTOM',
      source_format: 'json',
      user_id: 'user-7',
      stream: 'events',
      attributes: JSON.stringify(events[7]?.attributes),
      original: JSON.stringify(events[7]?.original),
    });
    await sink.close();
    await replay.close();
  });

  it('stores an original of 200 KB and an event id of 2,000 characters whole: TEXT holds what decoders produce', async () => {
    const table = uniqueName('long').replace('-', '_');
    const events = testEvents(5).map((event, n) =>
      n === 2
        ? { ...event, id: `id-${'x'.repeat(2000)}`, original: { n, text: 'é'.repeat(100_000) } }
        : event,
    );
    const collected = new CollectedDeadLetters();
    const sink = createRedshiftSink(
      redshiftConfig({
        dialect: 'postgres',
        url: db.url,
        table,
        createTable: true,
        buffer: { maxRecords: 100, maxBytes: 8 * 1024 * 1024, maxAgeMs: 100 },
        retry: quickRetry,
      }),
      { s3, deadLetter: collected, ...quietSinkDeps() },
    );
    const acks = new AckCounter();
    await writeAll(sink, events, acks);
    await sink.close();
    expect(acks.acked).toBe(5);
    expect(collected.entries).toEqual([]);
    const [row] = await db.query<{ event_id: string; original: string }>(
      `SELECT event_id, original FROM ${table} WHERE event_id LIKE 'id-%'`,
    );
    expect(row?.event_id).toBe(events[2]?.id);
    expect(JSON.parse(row?.original ?? 'null')).toEqual(events[2]?.original);
  });

  it('two streams whose records share shard ids and sequence numbers (kinesis-local numbers every stream alike) each keep every row', async () => {
    const table = uniqueName('streams').replace('-', '_');
    // A sink fed by two streams (no filter.streams): its merge key must tell them apart.
    const config = validateConfig(
      {
        application: 'redshift-streams',
        streams: [{ name: 'alpha' }, { name: 'beta' }],
        sinks: [
          {
            name: 'warehouse',
            type: 'redshift',
            dialect: 'postgres',
            url: db.url,
            table,
            createTable: true,
            buffer: { maxRecords: 1000, maxBytes: 8 * 1024 * 1024, maxAgeMs: 200 },
            retry: quickRetry,
          },
        ],
      },
      'test',
      {},
    );
    const { sinks } = createSinks(config, { s3, csvShapeFor, ...quietSinkDeps() });
    const sink = sinks[0]?.sink;
    if (!sink) throw new Error('no sink');
    // Events without ids of their own: the id is the record position, alike in both streams.
    const alpha = testEvents(50).map((event) => ({
      ...event,
      record: { ...event.record, streamName: 'alpha' },
    }));
    const beta = alpha.map((event) => ({
      ...event,
      record: { ...event.record, streamName: 'beta' },
    }));
    const acks = new AckCounter();
    await writeAll(sink, [...alpha, ...beta], acks);
    expect(acks).toMatchObject({ acked: 100, doubles: 0 });
    const [byStream] = await db.query<{ alpha: string; beta: string }>(
      `SELECT count(*) FILTER (WHERE stream = 'alpha') AS alpha, count(*) FILTER (WHERE stream = 'beta') AS beta FROM ${table}`,
    );
    expect({ alpha: Number(byStream?.alpha), beta: Number(byStream?.beta) }).toEqual({
      alpha: 50,
      beta: 50,
    });
  });

  it('loses nothing when the database goes down mid-run and comes back', async () => {
    const table = uniqueName('outage').replace('-', '_');
    const events = testEvents(6_000, { shards: 2 });
    const deps = quietSinkDeps();
    const sink = createRedshiftSink(
      redshiftConfig({
        dialect: 'postgres',
        url: db.url,
        table,
        createTable: true,
        columns: {
          event_type: 'type',
          campaign: 'attributes.campaign',
          price: 'metrics.price',
          text: 'original.text',
        },
        buffer: { maxRecords: 250, maxBytes: 8 * 1024 * 1024, maxAgeMs: 100 },
        retry: quickRetry,
        connectTimeoutMs: 2000,
      }),
      { s3, deadLetter: null, ...deps },
    );
    const acks = new AckCounter();
    for (const event of events.slice(0, 2_000)) sink.write(event, acks.handle());
    await eventually(
      'the first batches to load',
      async () => (acks.acked > 0 ? true : undefined),
      60_000,
      50,
    );

    await db.stop();
    for (const event of events.slice(2_000)) sink.write(event, acks.handle());
    await eventually(
      'a failed load to be retried',
      async () =>
        (await metricValue(deps.metrics, 'kinesis_relay_sink_retries_total')) > 0
          ? true
          : undefined,
      60_000,
      100,
    );
    const ackedDuringOutage = acks.acked;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(acks.acked).toBe(ackedDuringOutage); // nothing acknowledged while nothing can load
    await db.start();

    await sink.flush();
    expect(acks).toMatchObject({ acked: 6_000, doubles: 0 });
    expect(await rowCount(table)).toEqual({ rows: 6_000, keys: 6_000 });
    const [sample] = await db.query<{ campaign: string; price: number; text: string }>(
      `SELECT campaign, price, text FROM ${table} WHERE event_id = '${events[42]?.id}'`,
    );
    expect(sample).toEqual({ campaign: 'c-0', price: 0.42, text: 'event 42\nwith a newline' });
    await sink.close();
  });
});

describe('redshift sink, redshift dialect: staged in S3, COPY from a manifest', () => {
  let s3rver: RunningEmulator;
  let s3: S3Client;
  const bucket = 'relay-staging'; // a fresh s3rver per test: the recorded SQL names it

  beforeAll(async () => {
    s3rver = await startS3rver();
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint: s3rver.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    s3?.destroy();
    await s3rver?.stop();
  });

  async function listKeys(prefix: string): Promise<string[]> {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (page.Contents ?? []).map((entry) => entry.Key ?? '').sort();
  }

  it('an original or event id longer than its Redshift column is dead-lettered naming the column, never truncated', async () => {
    const copies: string[] = [];
    const rows: string[] = [];
    const connector: SqlConnector = {
      connect: async () => ({
        async query(sql) {
          const url = /^COPY .* FROM '(s3:\/\/[^']+)'/.exec(sql)?.[1];
          if (!url) return;
          copies.push(sql);
          const key = url.slice(`s3://${bucket}/`.length);
          const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const manifest = JSON.parse(await object.Body!.transformToString()) as CopyManifest;
          for (const entry of manifest.entries) {
            const staged = await s3.send(
              new GetObjectCommand({
                Bucket: bucket,
                Key: entry.url.slice(`s3://${bucket}/`.length),
              }),
            );
            const csv = gunzipSync(await staged.Body!.transformToByteArray()).toString('utf8');
            rows.push(...csv.split('\n').filter((line) => line !== ''));
          }
        },
        copyIn: async () => {
          throw new Error('the redshift dialect never copies from STDIN');
        },
        release: () => undefined,
      }),
      end: async () => undefined,
    };
    // 'é' is two bytes in UTF-8: 40,000 of them fit VARCHAR(65535) as characters, not as bytes.
    const events = testEvents(10).map((event, n) =>
      n === 3
        ? { ...event, original: { n, text: 'é'.repeat(40_000) } }
        : n === 5
          ? { ...event, id: 'i'.repeat(513) }
          : event,
    );
    const collected = new CollectedDeadLetters();
    const deps = quietSinkDeps();
    const sink = createRedshiftSink(
      redshiftConfig({
        url: 'postgres://relay@cluster.example:5439/dev',
        table: 'events',
        stagingBucket: bucket,
        stagingPrefix: 'staging/too-long/',
        iamRole: 'arn:aws:iam::123456789012:role/relay-copy',
        columns: { event_type: 'type', original: 'original' },
        buffer: { maxRecords: 100, maxBytes: 1024 * 1024, maxAgeMs: 60_000 },
        retry: quickRetry,
      }),
      { s3, deadLetter: collected, connector, ...deps },
    );
    const acks = new AckCounter();
    await writeAll(sink, events, acks);
    await sink.close();
    expect(acks).toMatchObject({ acked: 10, doubles: 0 });
    expect(rows).toHaveLength(8);
    expect(copies.every((sql) => !sql.includes('TRUNCATECOLUMNS'))).toBe(true);
    expect(collected.entries.map((e) => [e.sequenceNumber, e.reason, e.sink])).toEqual([
      [events[3]?.record.sequenceNumber, 'sink_rejected', 'warehouse'],
      [events[5]?.record.sequenceNumber, 'sink_rejected', 'warehouse'],
    ]);
    expect(collected.entries[0]?.error).toMatch(
      /column original .*80\d{3} bytes.*VARCHAR\(65535\)/,
    );
    expect(collected.entries[1]?.error).toMatch(/column event_id .*513 bytes.*VARCHAR\(512\)/);
    expect(
      await metricValue(deps.metrics, 'kinesis_relay_sink_records_total', {
        outcome: 'dead_lettered',
      }),
    ).toBe(2);
  });

  it('issues the recorded SQL, and the manifest lists exactly the staged objects', async () => {
    const statements: string[] = [];
    const manifests: Array<{ manifest: CopyManifest; staged: string[] }> = [];
    // No Redshift here: a connector that records what the sink runs, and at COPY time
    // reads what Redshift would read from S3.
    const connector: SqlConnector = {
      connect: async () => ({
        async query(sql) {
          statements.push(sql);
          const url = /^COPY .* FROM '(s3:\/\/[^']+)'/.exec(sql)?.[1];
          if (!url) return;
          const key = url.slice(`s3://${bucket}/`.length);
          const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const manifest = JSON.parse(await object.Body!.transformToString()) as CopyManifest;
          const directory = key.slice(0, key.lastIndexOf('/') + 1);
          const staged = (await listKeys(directory)).filter((k) => k !== key);
          manifests.push({ manifest, staged });
        },
        copyIn: async () => {
          throw new Error('the redshift dialect never copies from STDIN');
        },
        release: () => undefined,
      }),
      end: async () => undefined,
    };
    const sink = createRedshiftSink(
      redshiftConfig({
        url: 'postgres://relay@cluster.example:5439/dev',
        table: 'analytics.engagement_events',
        createTable: true,
        stagingBucket: bucket,
        stagingPrefix: 'staging/warehouse/',
        iamRole: 'arn:aws:iam::123456789012:role/relay-copy',
        columns: { event_type: 'type', occurred_at: 'occurred', price: 'metrics.price' },
        buffer: { maxRecords: 40, maxBytes: 1024 * 1024, maxAgeMs: 60_000 },
        retry: quickRetry,
      }),
      { s3, deadLetter: null, connector, ...quietSinkDeps() },
    );
    const acks = new AckCounter();
    await writeAll(sink, testEvents(100), acks);
    await sink.close();
    expect(acks.acked).toBe(100);

    // Batch ids are random: stand one name in for each, then every load must read alike.
    const ids = new Set(statements.join('\n').match(/\d{4}\/\d\d\/\d\d\/\d{6}-[0-9a-f]{12}/g));
    expect(ids.size).toBe(3);
    const normalized = statements.map((sql) =>
      [...ids].reduce((text, id) => text.replaceAll(id, '<batch>'), sql),
    );
    const [createTarget, createStaging, ...loads] = normalized;
    const transaction = loads.slice(0, loads.length / 3);
    expect(loads).toEqual([...transaction, ...transaction, ...transaction]);
    // The recorded expectation (reviewed by hand; `vitest -u` rewrites it on purpose only).
    await expect(
      [createTarget, createStaging, ...transaction].join(';\n') + ';\n',
    ).toMatchFileSnapshot('./fixtures/redshift-dialect.sql');

    expect(manifests).toHaveLength(3);
    for (const { manifest, staged } of manifests) {
      expect(staged.length).toBeGreaterThan(0);
      expect(manifest.entries.map((entry) => entry.url).sort()).toEqual(
        staged.map((key) => `s3://${bucket}/${key}`),
      );
      expect(manifest.entries.every((entry) => entry.mandatory)).toBe(true);
    }
    // Cleaned up after each merge.
    expect(await listKeys('staging/warehouse/')).toEqual([]);
  });
});
