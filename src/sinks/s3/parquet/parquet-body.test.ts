import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDb, sqlString, type DuckDb } from '../../../../test/support/duckdb.js';
import { AIRSHIP_CSV_HEADERS } from '../../../decode/airship-csv-headers.js';
import { GENERIC_HEADER } from '../../../decode/csv-columns.js';
import { zstdAvailable } from '../zstd.js';
import { typedColumns } from './column-types.js';
import { parquetBody, type ParquetSettings } from './parquet-body.js';

const generic = { id: 'generic', header: GENERIC_HEADER };
const settings: ParquetSettings = { compression: 'snappy', rowGroupBytes: 16 * 1024 * 1024 };

function genericRows(count: number): string[][] {
  return Array.from({ length: count }, (_, n) => [
    `id-${n}`,
    n % 2 === 0 ? '_session.start' : 'purchase',
    new Date(Date.UTC(2026, 0, 2, 3, 0, 0) + n * 1000).toISOString(),
    'pinpoint',
    'app-1',
    `device-${n % 7}`,
    n % 5 === 0 ? '' : `user-${n}`,
    'shardId-000000000001',
    String(49_659_000_000_000_000_000_000_000_000_000_000_000_000n + BigInt(n)),
    String(n % 3),
    '2026-01-02T03:04:05.678Z',
    JSON.stringify({ campaign: `c-${n % 4}`, quote: 'say "hi", then\nleave' }),
    JSON.stringify({ price: n / 4 }),
  ]);
}

describe('Parquet objects', () => {
  let duck: DuckDb;
  const dir = mkdtempSync(join(tmpdir(), 'parquet-body-'));
  const file = (name: string, body: Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, body);
    return sqlString(path);
  };
  beforeAll(async () => {
    duck = await openDuckDb();
  });
  afterAll(() => duck.close());

  it('holds the generic columns with their types, readable by DuckDB', async () => {
    const rows = genericRows(1000);
    const path = file('generic.parquet', await parquetBody(generic, rows, settings));
    const schema = await duck.query(`DESCRIBE SELECT * FROM read_parquet(${path})`);
    expect(schema.map((row) => [row['column_name'], row['column_type']])).toEqual(
      typedColumns(generic).map((column) => [
        column.name,
        {
          string: 'VARCHAR',
          timestamp: 'TIMESTAMP WITH TIME ZONE',
          double: 'DOUBLE',
          bigint: 'BIGINT',
        }[column.type],
      ]),
    );
    const [totals] = await duck.query(
      `SELECT count(*) AS n, count(user_id) AS users, sum(sub_sequence_number) AS subs,
              sum(CAST(json_extract(metrics, '$.price') AS DOUBLE)) AS price,
              min(occurred) AS first, max(sequence_number) AS last_seq
         FROM read_parquet(${path})`,
    );
    expect(totals).toEqual({
      n: 1000n,
      users: 800n,
      subs: BigInt(rows.reduce((sum, row) => sum + Number(row[9]), 0)),
      price: rows.reduce((sum, _, n) => sum + n / 4, 0),
      first: new Date(Date.UTC(2026, 0, 2, 3, 0, 0)),
      last_seq: rows[999]?.[8],
    });
    const [quoted] = await duck.query(
      `SELECT json_extract_string(attributes, '$.quote') AS quote FROM read_parquet(${path}) LIMIT 1`,
    );
    expect(quoted?.['quote']).toBe('say "hi", then\nleave');
  });

  it("types Airship's columns: times as timestamps, numbers as doubles, the rest as text", async () => {
    const location = { id: 'airship:LOCATION', header: AIRSHIP_CSV_HEADERS['LOCATION'] ?? [] };
    const cells = (n: number) =>
      location.header.map((column) => {
        if (column === 'OCCURRED') return '2026-01-02T03:04:05.678'; // RTDS writes no zone: UTC
        if (column === 'PROCESSED') return '2026-01-02T03:04:06Z';
        if (column === 'LATITUDE') return String(45 + n / 10);
        if (column === 'LONGITUDE') return n === 0 ? '' : String(-122.5);
        if (column === 'FOREGROUND') return 'true';
        return `${column.toLowerCase()}-${n}`;
      });
    const path = file(
      'location.parquet',
      await parquetBody(location, [cells(0), cells(1)], settings),
    );
    const rows = await duck.query(
      `SELECT occurred, processed, latitude, longitude, foreground, session
         FROM read_parquet(${path}) ORDER BY latitude`,
    );
    expect(rows).toEqual([
      {
        occurred: new Date('2026-01-02T03:04:05.678Z'),
        processed: new Date('2026-01-02T03:04:06Z'),
        latitude: 45,
        longitude: null,
        foreground: 'true',
        session: 'session-0',
      },
      {
        occurred: new Date('2026-01-02T03:04:05.678Z'),
        processed: new Date('2026-01-02T03:04:06Z'),
        latitude: 45.1,
        longitude: -122.5,
        foreground: 'true',
        session: 'session-1',
      },
    ]);
  });

  it('gives the same bytes for the same rows (exactly-once objects rewrite identically)', async () => {
    const rows = genericRows(2000);
    const first = await parquetBody(generic, rows, settings);
    const second = await parquetBody(generic, genericRows(2000), settings);
    expect(second.equals(first)).toBe(true);
    expect(first.includes(Buffer.from('kinesis-relay'))).toBe(true);
  });

  it('closes row groups at rowGroupBytes, so no group holds more than that much text', async () => {
    const rows = genericRows(3000);
    const rowBytes = rows[0]?.reduce((sum, cell) => sum + cell.length + 1, 0) ?? 0;
    const path = file(
      'groups.parquet',
      await parquetBody(generic, rows, { ...settings, rowGroupBytes: rowBytes * 500 }),
    );
    const groups = await duck.query(
      `SELECT DISTINCT row_group_id, row_group_num_rows FROM parquet_metadata(${path}) ORDER BY 1`,
    );
    expect(groups.length).toBeGreaterThanOrEqual(6);
    expect(groups.reduce((sum, group) => sum + Number(group['row_group_num_rows']), 0)).toBe(3000);
    for (const group of groups)
      expect(Number(group['row_group_num_rows'])).toBeLessThanOrEqual(501);
  });

  const codecs = ['snappy', 'gzip', 'none', ...(zstdAvailable() ? ['zstd' as const] : [])] as const;
  it.each(codecs)('compresses pages with %s, as the footer says', async (compression) => {
    const path = file(
      `codec-${compression}.parquet`,
      await parquetBody(generic, genericRows(500), { ...settings, compression }),
    );
    const codecsSeen = await duck.query(
      `SELECT DISTINCT compression FROM parquet_metadata(${path})`,
    );
    const expected = { snappy: 'SNAPPY', gzip: 'GZIP', none: 'UNCOMPRESSED', zstd: 'ZSTD' };
    expect(codecsSeen).toEqual([{ compression: expected[compression] }]);
    const [count] = await duck.query(`SELECT count(*) AS n FROM read_parquet(${path})`);
    expect(count).toEqual({ n: 500n });
  });
});
