import { describe, expect, it } from 'vitest';
import type { RelayEvent } from '../../core/event.js';
import { KeyLayout } from './key-layout.js';

const event = (type: string): RelayEvent => ({
  id: 'id',
  type,
  occurred: null,
  format: 'airship',
  appId: null,
  deviceId: null,
  userId: null,
  attributes: {},
  metrics: {},
  original: {},
  record: {
    streamName: 'events',
    shardId: 'shardId-000000000001',
    sequenceNumber: '1',
    subSequenceNumber: 0,
    partitionKey: 'pk',
    aggregated: false,
    approximateArrivalTimestamp: new Date('2015-11-18T01:21:33.180Z'),
    data: new Uint8Array(),
  },
});

describe('S3 key layouts', () => {
  const airship = new KeyLayout({
    layout: 'airship',
    sinkName: 'archive',
    prefix: '',
    appKey: 'APPKEY',
    integrationId: 'INTEGRATION',
    compression: 'gzip',
  });

  it('airship CSV: appKey/integrationId/S3_CSV/eventType/yyyy_mm_dd/yyyy_mm_dd_HH_MM_SS…csv', () => {
    const key =
      airship.directory(event('LOCATION'), 'csv') +
      airship.fileName(new Date('2015-11-18T01:21:33Z'), 'b1', 'csv', 'airship:LOCATION');
    expect(key).toBe('APPKEY/INTEGRATION/S3_CSV/LOCATION/2015_11_18/2015_11_18_01_21_33_b1.csv.gz');
  });

  it('airship JSON: appKey/integrationId/S3_JSON/yyyy_mm_dd/yyyy_mm_dd_HH_MM_SS…json', () => {
    const key =
      airship.directory(event('TAG_CHANGE'), 'json') +
      airship.fileName(new Date('2015-11-18T01:21:33Z'), 'b2', 'json', null);
    expect(key).toBe('APPKEY/INTEGRATION/S3_JSON/2015_11_18/2015_11_18_01_21_33_b2.json.gz');
  });

  it('hourly and templates, with event types kept to one safe path segment', () => {
    const hourly = new KeyLayout({
      layout: 'hourly',
      sinkName: 'events',
      prefix: 'raw/',
      compression: 'none',
    });
    expect(hourly.directory(event('OPEN'), 'json')).toBe('raw/2015/11/18/01/');
    expect(hourly.fileName(new Date('2015-11-18T01:21:33Z'), 'b3', 'json', null)).toBe(
      'events-2015-11-18-01-21-33-b3.jsonl',
    );

    const template = new KeyLayout({
      layout: 'by-type/{eventType}/dt={yyyy}-{mm}-{dd}/',
      sinkName: 'events',
      prefix: '',
      compression: 'none',
    });
    expect(template.directory(event('../../etc'), 'json')).toBe('by-type/.._.._etc/dt=2015-11-18/');
  });

  it('exactly-once names carry the first record: time, shard, sequence, sub-sequence, hash', () => {
    const first = { ...event('OPEN').record, sequenceNumber: '4959', subSequenceNumber: 3 };
    expect(airship.segmentFileName(first, '0123abcd', 'csv', 'airship:OPEN')).toBe(
      '2015_11_18_01_21_33_shardId-000000000001_4959_3_0123abcd.csv.gz',
    );
    const hourly = new KeyLayout({
      layout: 'hourly',
      sinkName: 'events',
      prefix: '',
      compression: 'none',
    });
    expect(hourly.segmentFileName(first, '0123abcd', 'json', null)).toBe(
      'events-2015-11-18-01-21-33-shardId-000000000001-4959-3-0123abcd.jsonl',
    );
  });
});

describe('Athena layout and event-time partitions', () => {
  const athena = (partitionBy: 'arrival' | 'event') =>
    new KeyLayout({
      layout: 'athena',
      sinkName: 'lake',
      prefix: 'events/',
      compression: 'gzip',
      partitionBy,
    });
  const pinpoint = (occurred: string | null): RelayEvent => ({
    ...event('_session.start'),
    format: 'pinpoint',
    occurred,
  });

  it('puts each set of columns in its own table directory, Hive-style by date and hour', () => {
    const layout = athena('arrival');
    expect(layout.directory(pinpoint(null), 'parquet')).toBe(
      'events/events/dt=2015-11-18/hour=01/',
    );
    const open: RelayEvent = { ...event('OPEN'), original: { type: 'OPEN' } };
    expect(layout.directory(open, 'parquet')).toBe('events/airship_open/dt=2015-11-18/hour=01/');
    expect(layout.directory(event('TAG_CHANGE'), 'json')).toBe(
      'events/events_json/dt=2015-11-18/hour=01/',
    );
  });

  it('with partitionBy: event, takes the time from the event, and arrival where it has none', () => {
    const layout = athena('event');
    expect(layout.directory(pinpoint('2015-11-17T22:59:59.999Z'), 'parquet')).toBe(
      'events/events/dt=2015-11-17/hour=22/',
    );
    // Zone-less times are UTC, whatever the process's time zone.
    expect(layout.directory(pinpoint('2015-11-16T05:00:00'), 'parquet')).toBe(
      'events/events/dt=2015-11-16/hour=05/',
    );
    expect(layout.directory(pinpoint(null), 'parquet')).toBe(
      'events/events/dt=2015-11-18/hour=01/',
    );
    expect(layout.directory(pinpoint('not a time'), 'parquet')).toBe(
      'events/events/dt=2015-11-18/hour=01/',
    );
    // With arrival partitions the event's own time changes nothing.
    expect(athena('arrival').directory(pinpoint('2015-11-17T22:59:59Z'), 'parquet')).toBe(
      'events/events/dt=2015-11-18/hour=01/',
    );
  });

  it('names Parquet objects .parquet (compressed inside), zstd text objects .zst', () => {
    const record = event('OPEN').record;
    expect(athena('arrival').segmentFileName(record, 'abcd1234', 'parquet', 'generic')).toMatch(
      /^lake-2015-11-18-01-21-33-shardId-000000000001-1-0-abcd1234\.parquet$/,
    );
    const zstd = new KeyLayout({
      layout: 'hourly',
      sinkName: 's',
      prefix: '',
      compression: 'zstd',
    });
    expect(zstd.fileName(record.approximateArrivalTimestamp, 'b', 'json', null)).toBe(
      's-2015-11-18-01-21-33-b.jsonl.zst',
    );
    const airshipParquet = new KeyLayout({
      layout: 'airship',
      sinkName: 's',
      prefix: '',
      appKey: 'K',
      integrationId: 'I',
      compression: 'gzip',
    });
    expect(airshipParquet.directory(event('OPEN'), 'parquet')).toBe(
      'K/I/S3_PARQUET/OPEN/2015_11_18/',
    );
  });

  it('renders the directory of each event when events of several seconds, hours and kinds interleave', () => {
    const at = (iso: string, format: RelayEvent['format'] = 'pinpoint'): RelayEvent => {
      const base = event('_session.start');
      return {
        ...base,
        format,
        record: { ...base.record, approximateArrivalTimestamp: new Date(iso) },
      };
    };
    const times = [
      '2015-11-18T01:21:33.180Z',
      '2015-11-18T01:21:33.990Z',
      '2015-11-18T01:21:34.000Z',
      '2015-11-18T01:21:33.500Z',
      '2015-11-18T02:00:00.000Z',
      '2015-11-18T01:59:59.999Z',
      '2016-01-01T00:00:00.000Z',
    ];
    for (const template of [
      'hourly',
      '{sink}/{yyyy}{mm}{dd}/{HH}{MM}{SS}/',
      'athena',
      '{format}/{HH}/',
    ]) {
      const layout = new KeyLayout({
        layout: template,
        sinkName: 'archive',
        prefix: 'p/',
        compression: 'gzip',
      });
      // A layout that never reuses anything: a new one per event.
      const fresh = (e: RelayEvent, kind: 'csv' | 'json') =>
        new KeyLayout({
          layout: template,
          sinkName: 'archive',
          prefix: 'p/',
          compression: 'gzip',
        }).directory(e, kind);
      for (const time of [...times, ...[...times].reverse()]) {
        for (const kind of ['csv', 'json'] as const) {
          for (const format of ['pinpoint', 'json'] as const) {
            const e = at(time, format);
            expect(layout.directory(e, kind), `${template} ${time} ${kind}`).toBe(fresh(e, kind));
          }
        }
      }
    }
  });
});
