import { describe, expect, it } from 'vitest';
import { userRecord } from '../../test/support/user-record.js';
import { compressKeptRecords, KeptRecordsWriter, readKeptRecords } from './kept-records.js';

const kept = async (writer: KeptRecordsWriter) =>
  readKeptRecords(await compressKeptRecords(writer.take()));

describe('kept records (a chunk’s records for its dead-letter entries)', () => {
  it('reads back every field of every event’s record, in order, a record of several events once per event', async () => {
    const page = Buffer.from('xx{"a":1}yy{"b":"ü"}zz');
    const first = userRecord({
      streamName: 'orders-ü',
      shardId: 'shardId-000000000007',
      sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
      subSequenceNumber: 0,
      partitionKey: 'ключ-1',
      approximateArrivalTimestamp: new Date(1_700_000_000_123),
      data: new Uint8Array(page.buffer, page.byteOffset + 2, 7),
    });
    const aggregated = userRecord({
      streamName: 'orders-ü',
      shardId: 'shardId-000000000007',
      sequenceNumber: '49590338271490256608559692538361571095921575989136588899',
      subSequenceNumber: 4_000_000_000,
      partitionKey: 'k'.repeat(256),
      explicitHashKey: '340282366920938463463374607431768211455',
      aggregated: true,
      approximateArrivalTimestamp: new Date(1_700_000_000_456),
      data: new Uint8Array(page.buffer, page.byteOffset + 11, 10),
    });
    const empty = userRecord({
      streamName: 'orders-ü',
      shardId: 'shardId-000000000007',
      sequenceNumber: '9',
      data: new Uint8Array(0),
    });
    const writer = new KeptRecordsWriter();
    // The second record decoded into two events.
    for (const record of [first, aggregated, aggregated, empty]) writer.add(record);
    const packed = writer.take();
    const packedBytes = packed.byteLength;
    const compressed = await compressKeptRecords(packed);
    // Freed once compressed (releaseNow): the worker holds no page's worth of them.
    expect(packed.byteLength).toBe(0);
    // A buffer of its own: transferable from a decode worker to the main thread.
    expect(compressed.byteOffset).toBe(0);
    expect(compressed.byteLength).toBe(compressed.buffer.byteLength);
    expect(compressed.byteLength).toBeLessThan(packedBytes);

    const read = readKeptRecords(compressed);
    expect(read).toHaveLength(4);
    const plain = (record: (typeof read)[number]) => ({ ...record, data: [...record.data] });
    expect(read.map(plain)).toEqual([first, aggregated, aggregated, empty].map(plain));
    expect(read[1]).toBe(read[2]);
    expect('explicitHashKey' in (read[0] ?? {})).toBe(false);
    // The bytes are a copy's, not the page's.
    expect(read[0]?.data.buffer).not.toBe(page.buffer);
  });

  it('starts over after take, and refuses records of two shards in one chunk', async () => {
    const writer = new KeptRecordsWriter();
    writer.add(userRecord({ sequenceNumber: '1' }));
    expect((await kept(writer)).map((r) => r.sequenceNumber)).toEqual(['1']);
    writer.add(userRecord({ sequenceNumber: '2', shardId: 'shardId-000000000001' }));
    expect((await kept(writer)).map((r) => [r.sequenceNumber, r.shardId])).toEqual([
      ['2', 'shardId-000000000001'],
    ]);
    expect(await kept(new KeptRecordsWriter())).toEqual([]);
    expect(readKeptRecords(new Uint8Array(0))).toEqual([]);
    writer.add(userRecord({ shardId: 'shardId-000000000001' }));
    expect(() => writer.add(userRecord({ shardId: 'shardId-000000000002' }))).toThrow(/two shards/);
  });

  it('grows past its first buffer for a chunk of many large records, which compress', async () => {
    const writer = new KeptRecordsWriter();
    const records = Array.from({ length: 300 }, (_, n) =>
      userRecord({ sequenceNumber: String(n), data: new Uint8Array(1000).fill(n % 251) }),
    );
    for (const record of records) writer.add(record);
    const packed = writer.take();
    const packedBytes = packed.byteLength;
    expect(packedBytes).toBeGreaterThan(300_000);
    const compressed = await compressKeptRecords(packed);
    expect(compressed.byteLength).toBeLessThan(packedBytes / 10);
    const read = readKeptRecords(compressed);
    expect(read.map((r) => r.sequenceNumber)).toEqual(records.map((r) => r.sequenceNumber));
    expect(read.every((r, n) => r.data.length === 1000 && r.data.every((b) => b === n % 251))).toBe(
      true,
    );
  });
});
