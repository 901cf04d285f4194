import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { isS3Sink, type S3SinkConfig } from '../../src/config/schema.js';
import type { RelayEvent } from '../../src/core/event.js';
import { createStream, putAll, type OutgoingRecord } from '../../src/demo/producer.js';
import { sampleEvent } from '../../src/demo/sample-events.js';
import { createDecoder, csvShapeFor } from '../../src/decode/index.js';
import { athenaTables, type AthenaTable } from '../../src/sinks/s3/athena-ddl.js';
import { tableName } from '../../src/sinks/s3/key-layout.js';
import { downloadBucket, openDuckDb, sqlString } from '../support/duckdb.js';
import { testRelayConfig } from '../support/relay-config.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';
import {
  createBucket,
  eventually,
  uniqueName,
  useTestStack,
  waitForPutsCheckpointed,
} from '../support/stack.js';

const RECORDS = 1400;
/** Event times 9 s apart: the records span four hours of event time. */
const T0 = Date.parse('2026-05-06T07:00:00Z');

/** DuckDB's name for each column type the DDL gives a Parquet table. */
const DUCKDB_TYPES: Readonly<Record<string, string>> = {
  string: 'VARCHAR',
  timestamp: 'TIMESTAMP WITH TIME ZONE',
  double: 'DOUBLE',
  bigint: 'BIGINT',
};

/** The number each table's events are summed by: what the decoder read as a number. */
function measure(event: RelayEvent): number {
  const body = (event.original as { body?: { value?: number; latitude?: number } }).body;
  if (event.format === 'airship') return body?.value ?? body?.latitude ?? 0;
  return Object.values(event.metrics).reduce<number>((sum, value) => sum + Number(value), 0);
}

/** The same number in SQL, over a table's columns as the DDL names them. */
function measureSql(table: string): string {
  if (table.endsWith('_airship_custom')) return 'CAST("value" AS DOUBLE)';
  if (table.endsWith('_airship_location')) return 'CAST(latitude AS DOUBLE)';
  if (table.includes('airship_')) return '0';
  return "coalesce(list_sum(CAST(json_extract(metrics, '$.*') AS DOUBLE[])), 0)";
}

interface Totals {
  count: number;
  sum: number;
}

/** table name -> "format|type" -> count and sum, from decoding what was put. */
function expectedTotals(events: readonly RelayEvent[], kind: 'csv' | 'parquet') {
  const totals = new Map<string, Map<string, Totals>>();
  for (const event of events) {
    const shape = csvShapeFor(event);
    const table = tableName(shape ? kind : 'json', shape?.id ?? null);
    const byType = totals.get(table) ?? new Map<string, Totals>();
    const key = `${event.format}|${event.type}`;
    const entry = byType.get(key) ?? { count: 0, sum: 0 };
    entry.count += 1;
    entry.sum += measure(event);
    byType.set(key, entry);
    totals.set(table, byType);
  }
  return totals;
}

describe('Athena-ready objects, read by a real query engine (DuckDB)', () => {
  const test = useTestStack();

  it('Parquet and CSV objects of every input format hold what was put, across a kill -9 (at-least-once: distinct ids; exactlyOnce: plain counts)', async () => {
    const names = {
      stream: uniqueName('athena'),
      table: uniqueName('athena-leases'),
      bucket: uniqueName('athena-lake'),
    };
    await createStream(test.clients.kinesis, names.stream, 2);
    await createBucket(test.clients, names.bucket);
    const records: OutgoingRecord[] = Array.from({ length: RECORDS }, (_, n) => ({
      partitionKey: `pk-${n}`,
      data: Buffer.from(JSON.stringify(sampleEvent(n, T0 + n * 9000))),
    }));
    const buffer = { maxRecords: 200, maxBytes: 1_048_576, maxAgeMs: 1000 };
    const sink = (name: string, extra: object) => ({
      name,
      type: 's3',
      bucket: names.bucket,
      prefix: `${name}/`,
      layout: 'athena',
      buffer,
      retry: { initialDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 600_000 },
      ...extra,
    });
    const config = testRelayConfig(names, {
      decode: { format: 'auto' },
      checkpoint: { intervalMs: 1500 },
      leases: { failoverMs: 4000, takeIntervalMs: 1000, shardSyncIntervalMs: 5000 },
      consumer: { idleTimeBetweenReadsMs: 200, maxRecordsPerCall: 100 },
      sinks: [
        sink('pq', { format: 'parquet', partitionBy: 'event' }),
        sink('csv', { format: 'csv', compression: 'gzip' }),
        sink('pqeo', {
          format: 'parquet',
          partitionBy: 'event',
          exactlyOnce: true,
          idleFlushMs: 8000,
        }),
        sink('csveo', { format: 'csv', exactlyOnce: true, idleFlushMs: 8000 }),
      ],
    });
    const configPath = writeConfig(config);
    const validated = validateConfig(config, 'test', {});

    const firstHalf = await putAll(test.clients.kinesis, names.stream, records.slice(0, 700));
    const first = startRelayProcess(['run', '--config', configPath]);
    const dir = mkdtempSync(join(tmpdir(), 'athena-query-'));
    const early = await eventually(
      'the first Parquet objects',
      async () => {
        const objects = await downloadBucket(test.clients.s3, names.bucket, join(dir, 'early'));
        const parquet = [...objects.keys()].filter((key) => key.endsWith('.parquet'));
        return parquet.some((key) => key.startsWith('pqeo/')) &&
          parquet.filter((key) => key.startsWith('pq/')).length >= 3
          ? objects
          : undefined;
      },
      90_000,
      300,
    );
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const secondHalf = await putAll(test.clients.kinesis, names.stream, records.slice(700));
    const second = startRelayProcess(['run', '--config', configPath]);
    await waitForPutsCheckpointed(
      test.clients,
      names.table,
      [...firstHalf, ...secondHalf],
      240_000,
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const root = join(dir, 'final');
    const final = await downloadBucket(test.clients.s3, names.bucket, root);
    // Exactly-once objects seen before the crash hold the same bytes after the restart
    // (the new reader rewrites the unacknowledged ones: same keys, same bytes).
    const rewritten = [...early].filter(([key]) => /^(pqeo|csveo)\//.test(key));
    expect(rewritten.length).toBeGreaterThan(0);
    for (const [key, bytes] of rewritten) expect(final.get(key)?.equals(bytes), key).toBe(true);

    // What the relay should have written: the same records through the same decoder.
    const decoder = createDecoder('auto');
    const events = [...firstHalf, ...secondHalf].flatMap((put, n) => {
      const result = decoder.decode({
        streamName: names.stream,
        shardId: put.shardId,
        sequenceNumber: put.sequenceNumber,
        subSequenceNumber: 0,
        partitionKey: `pk-${n}`,
        aggregated: false,
        approximateArrivalTimestamp: new Date(),
        data: records[n]?.data ?? new Uint8Array(),
      });
      if (!result.ok) throw new Error(result.error);
      return result.events;
    });
    const formats = new Set(events.map((event) => event.format));
    expect([...formats].sort()).toEqual(['airship', 'mobile-analytics', 'mparticle', 'pinpoint']);

    const duck = await openDuckDb();
    const checked: string[] = [];
    try {
      for (const sinkConfig of validated.sinks.filter(isS3Sink)) {
        const kind = sinkConfig.format === 'parquet' ? 'parquet' : 'csv';
        const expected = expectedTotals(events, kind);
        const tables = athenaTables(validated, sinkConfig).filter(
          (table): table is AthenaTable => 'location' in table,
        );
        for (const [table, byType] of expected) {
          const ddl = tables.find((candidate) => candidate.name === `${sinkConfig.name}_${table}`);
          expect(ddl, `a DDL table for ${sinkConfig.name}_${table}`).toBeDefined();
          if (!ddl) continue;
          const source = await sourceOf(duck, root, sinkConfig, ddl);
          const rows = (sql: string) => duck.query(sql);
          const airship = table.startsWith('airship_');
          const format = airship ? "'airship'" : 'format';
          const measured = ddl.kind === 'json' ? '0' : measureSql(ddl.name);
          const grouped = (from: string) =>
            rows(
              `SELECT ${format} || '|' || type AS key, count(*) AS n, sum(${measured}) AS s
                 FROM ${from} GROUP BY ALL ORDER BY key`,
            );
          // At-least-once: a crash may write records again; each id once is what was put.
          const found = sinkConfig.exactlyOnce
            ? await grouped(source)
            : await grouped(`(SELECT DISTINCT ON (id) * FROM ${source})`);
          checked.push(`${sinkConfig.name}_${table}`);
          const want = [...byType]
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([key, totals]) => ({ key, n: BigInt(totals.count), s: totals.sum }));
          expect(
            found.map((row) => ({ ...row, s: Math.round(Number(row['s']) * 1000) / 1000 })),
            `${sinkConfig.name}_${table}`,
          ).toEqual(
            want.map((row) =>
              ddl.kind === 'json'
                ? { ...row, s: 0 }
                : { ...row, s: Math.round(row.s * 1000) / 1000 },
            ),
          );
        }
      }
    } finally {
      duck.close();
    }
    // Every sink: the generic table, five Airship types with columns, and tag changes as JSON.
    expect(checked).toHaveLength(4 * 7);
  }, 420_000);
});

/**
 * A DuckDB FROM clause over one table's objects, with the DDL's column names (and, for
 * Parquet, checks that the file's own columns and types are the DDL's), plus dt and hour.
 */
async function sourceOf(
  duck: Awaited<ReturnType<typeof openDuckDb>>,
  root: string,
  sink: S3SinkConfig,
  table: AthenaTable,
): Promise<string> {
  const location = table.location.replace(`s3://${sink.bucket}/`, '');
  expect(existsSync(join(root, location)), `objects under ${location}`).toBe(true);
  if (table.kind === 'parquet') {
    const files = sqlString(join(root, location, '**', '*.parquet'));
    const from = `read_parquet(${files}, hive_partitioning = true, hive_types_autocast = false)`;
    const described = await duck.query(`DESCRIBE SELECT * FROM ${from}`);
    expect(described.map((row) => [row['column_name'], row['column_type']])).toEqual([
      ...table.columns.map((column) => [column.name, DUCKDB_TYPES[column.type]]),
      ['dt', 'VARCHAR'],
      ['hour', 'VARCHAR'],
    ]);
    return from;
  }
  if (table.kind === 'csv') {
    const files = sqlString(join(root, location, '**', '*.csv.gz'));
    const columns = table.columns.map((column) => `${sqlString(column.name)}: 'VARCHAR'`);
    return `read_csv(${files}, header = true, columns = {${columns.join(', ')}}, hive_partitioning = true, hive_types_autocast = false)`;
  }
  const files = sqlString(join(root, location, '**', '*.jsonl.gz'));
  return `read_json(${files}, format = 'newline_delimited', columns = {id: 'VARCHAR', type: 'VARCHAR', format: 'VARCHAR'})`;
}
