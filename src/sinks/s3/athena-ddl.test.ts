import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/load.js';
import { isS3Sink, type RelayConfig } from '../../config/schema.js';
import { UsageError } from '../../core/errors.js';
import { athenaDdl, athenaTables } from './athena-ddl.js';

const configWith = (sink: Record<string, unknown>, decode = 'pinpoint') =>
  validateConfig(
    {
      application: 'app',
      stream: { name: 'events' },
      decode: { format: decode },
      sinks: [{ name: 'lake', type: 's3', bucket: 'my-lake', ...sink }],
    },
    'test',
    {},
  );

function s3Sink(config: RelayConfig) {
  const sink = config.sinks[0];
  if (!sink || !isS3Sink(sink)) throw new Error('unreachable: the test config has one S3 sink');
  return sink;
}

describe('athena ddl', () => {
  it('projects the athena layout as dt (date) and hour (integer) partitions', () => {
    const ddl = athenaDdl(
      configWith({ format: 'parquet', layout: 'athena', prefix: 'relay/' }),
      undefined,
      { since: '2026-01-01' },
    );
    expect(ddl).toContain('CREATE EXTERNAL TABLE IF NOT EXISTS `lake_events` (');
    expect(ddl).toContain('  `occurred` timestamp,');
    expect(ddl).toContain('  `sub_sequence_number` bigint,');
    expect(ddl).toContain('PARTITIONED BY (`dt` string, `hour` string)\nSTORED AS PARQUET');
    expect(ddl).toContain("LOCATION 's3://my-lake/relay/events/'");
    for (const property of [
      "'projection.enabled' = 'true'",
      "'projection.dt.type' = 'date'",
      "'projection.dt.format' = 'yyyy-MM-dd'",
      "'projection.dt.range' = '2026-01-01,NOW'",
      "'projection.hour.type' = 'integer'",
      "'projection.hour.range' = '0,23'",
      "'projection.hour.digits' = '2'",
      "'storage.location.template' = 's3://my-lake/relay/events/dt=${dt}/hour=${hour}/'",
    ]) {
      expect(ddl).toContain(property);
    }
  });

  it('gives every Airship event type with CSV columns its own table, and JSON one for the rest', () => {
    const config = configWith(
      { format: 'parquet', layout: 'athena', filter: { eventTypes: ['OPEN', 'LOCATION'] } },
      'airship',
    );
    const tables = athenaTables(config, s3Sink(config));
    expect(
      tables.map((table) => [table.name, 'location' in table ? table.location : null]),
    ).toEqual([
      ['lake_airship_open', 's3://my-lake/airship_open/'],
      ['lake_airship_location', 's3://my-lake/airship_location/'],
      ['lake_events_json', 's3://my-lake/events_json/'],
    ]);
    const location = tables[1];
    expect(location && 'columns' in location ? location.columns.slice(0, 5) : null).toEqual([
      { name: 'id', type: 'string' },
      { name: 'type', type: 'string' },
      { name: 'occurred', type: 'timestamp' },
      { name: 'processed', type: 'timestamp' },
      { name: 'offset', type: 'string' },
    ]);
    expect(location && 'columns' in location ? location.columns.slice(-3) : null).toEqual([
      { name: 'latitude', type: 'double' },
      { name: 'longitude', type: 'double' },
      { name: 'foreground', type: 'string' },
    ]);
  });

  it('projects other time paths as one dt column in their own format', () => {
    const config = configWith({ format: 'csv' });
    const [table] = athenaTables(config, s3Sink(config));
    expect(table).toMatchObject({
      name: 'lake_events',
      location: 's3://my-lake/',
      partitions: { style: 'path', format: 'yyyy/MM/dd/HH', unit: 'HOURS' },
    });
    const ddl = athenaDdl(configWith({ format: 'csv' }), 'lake', { since: '2026-01-01' });
    expect(ddl).toContain("'projection.dt.range' = '2026/01/01/00,NOW'");
    expect(ddl).toContain("'skip.header.line.count' = '1'");
    expect(ddl).toContain('OpenCSVSerde');
  });

  it('refuses a layout Athena cannot project, naming the key', () => {
    expect(() =>
      athenaDdl(configWith({ layout: '{yyyy}/{mm}/{shard}/' }), undefined, { since: '2026-01-01' }),
    ).toThrow(/sinks\.lake\.layout: \{shard\} after the time placeholders/);
    expect(() => athenaDdl(configWith({}), 'other', { since: '2026-01-01' })).toThrow(UsageError);
  });
});
