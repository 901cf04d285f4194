import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { determinismFingerprint, objectConfigHash } from './config-fingerprint.js';
import { deterministicGzip } from './deterministic-gzip.js';

const sink = {
  format: 'csv' as const,
  compression: 'gzip' as const,
  layout: 'airship',
  buffer: { maxRecords: 50_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 60_000 },
  filter: { eventTypes: ['OPEN', 'CLOSE'], formats: [] },
};
const hashOf = (overrides: Partial<typeof sink>, decodeFormat = 'auto', header = ['a', 'b']) =>
  objectConfigHash(
    determinismFingerprint({ sink: { ...sink, ...overrides }, decodeFormat }),
    header,
  );

describe('exactly-once config hash', () => {
  it('is stable for the same settings, whatever the filter order', () => {
    expect(hashOf({})).toMatch(/^[0-9a-f]{8}$/);
    expect(hashOf({ filter: { eventTypes: ['CLOSE', 'OPEN'], formats: [] } })).toBe(hashOf({}));
  });

  it('is what it was before gzipLevel existed at the default level, or without gzip', () => {
    expect(hashOf({ gzipLevel: 6 } as Partial<typeof sink>)).toBe(hashOf({}));
    const none = { compression: 'none' as unknown as 'gzip' };
    expect(hashOf({ ...none, gzipLevel: 1 } as Partial<typeof sink>)).toBe(hashOf(none));
  });

  it('changes with every setting that changes what an object holds', () => {
    const base = hashOf({});
    const changed = [
      hashOf({ buffer: { ...sink.buffer, maxRecords: 10_000 } }),
      hashOf({ buffer: { ...sink.buffer, maxBytes: 1024 } }),
      hashOf({ buffer: { ...sink.buffer, maxAgeMs: 1000 } }),
      hashOf({ format: 'jsonl' as unknown as 'csv' }),
      hashOf({ compression: 'none' as unknown as 'gzip' }),
      hashOf({ layout: 'hourly' }),
      hashOf({ filter: { eventTypes: ['OPEN'], formats: [] } }),
      hashOf({}, 'pinpoint'),
      hashOf({}, 'auto', ['a', 'b', 'c']),
      hashOf({ gzipLevel: 1 } as Partial<typeof sink>),
    ];
    expect(new Set([base, ...changed]).size).toBe(changed.length + 1);
  });

  it('changes with gzipLevel for a Parquet sink too: its JSON Lines objects are gzipped at it', () => {
    const parquet = { format: 'parquet' as unknown as 'csv' };
    expect(hashOf({ ...parquet, gzipLevel: 1 } as Partial<typeof sink>)).not.toBe(hashOf(parquet));
    expect(hashOf({ ...parquet, gzipLevel: 6 } as Partial<typeof sink>)).toBe(hashOf(parquet));
  });
});

describe('deterministic gzip', () => {
  it('gives the same bytes every time, with no time, name or platform in the header', async () => {
    const input = Buffer.from('{"n":1}\n'.repeat(10_000));
    const first = await deterministicGzip(input);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a new second for MTIME
    const second = await deterministicGzip(input);
    expect(second.equals(first)).toBe(true);
    expect([...first.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    expect(gunzipSync(first).equals(input)).toBe(true);
  });
});

describe('exactly-once config hash and the Parquet and partition settings', () => {
  const parquet = { compression: 'snappy' as const, rowGroupBytes: 16 * 1024 * 1024 };
  const fingerprint = (overrides: object) =>
    determinismFingerprint({ sink: { ...sink, ...overrides }, decodeFormat: 'auto' });

  it('leaves the keys of sinks that do not use them as earlier releases wrote them', () => {
    expect(fingerprint({ parquet, partitionBy: 'arrival' })).toBe(fingerprint({}));
  });

  it('changes with the Parquet codec, the row group size and event-time partitions', () => {
    const base = fingerprint({ format: 'parquet', parquet });
    const changed = [
      fingerprint({ format: 'parquet', parquet: { ...parquet, compression: 'gzip' } }),
      fingerprint({ format: 'parquet', parquet: { ...parquet, rowGroupBytes: 1024 } }),
      fingerprint({ format: 'parquet', parquet, partitionBy: 'event' }),
    ];
    expect(new Set([base, ...changed]).size).toBe(changed.length + 1);
  });
});
