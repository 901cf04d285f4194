import { describe, expect, it } from 'vitest';
import { noAck, userRecord } from '../../test/support/user-record.js';
import { PendingBatch } from './pending-batch.js';

/*
 * The GetRecords reader decodes a page's records into one buffer, each record's bytes a
 * view of it (get-records-body.ts). A batch that keeps records for dead-lettering keeps
 * them for as long as its write takes, often behind others: such a record must not keep
 * its whole page alive with it.
 */
describe('PendingBatch', () => {
  it('a kept record does not pin the page buffer its bytes were read into', () => {
    const page = Buffer.from('aaaa|bbbb|cccc');
    const record = userRecord({ data: new Uint8Array(page.buffer, page.byteOffset + 5, 4) });
    const batch = new PendingBatch<string>(0);
    const held = batch.add('line\n', 5, record, noAck, true);
    const kept = batch.records[0];
    expect(Buffer.from(kept?.data ?? []).toString()).toBe('bbbb');
    expect(kept?.data.buffer).not.toBe(page.buffer);
    expect(kept?.data.byteLength).toBe(4);
    // Everything else about the record is what was added.
    expect({ ...kept, data: null }).toEqual({ ...record, data: null });
    expect(held).toBe(5 + 4 + 1024);
    // Later changes to the page do not reach the kept bytes.
    page.write('zzzz', 5);
    expect(Buffer.from(kept?.data ?? []).toString()).toBe('bbbb');
  });

  it('keeps the bytes of many records in a few slabs of its own, and none without keepData', () => {
    const page = Buffer.from(Array.from({ length: 3000 }, (_, n) => `r${n % 10}`).join(''));
    const keeping = new PendingBatch<string>(0);
    const big = userRecord({ data: new Uint8Array(20_000).fill(7) });
    for (let n = 0; n < 3000; n += 1) {
      const data = new Uint8Array(page.buffer, page.byteOffset + n * 2, 2);
      keeping.add('x\n', 2, userRecord({ data, sequenceNumber: String(n) }), noAck, true);
      if (n === 1500) keeping.add('x\n', 2, big, noAck, true);
    }
    const kept = keeping.records;
    expect(kept).toHaveLength(3001);
    const buffers = new Set(kept.map((record) => record.data.buffer));
    expect(buffers.has(page.buffer)).toBe(false);
    // 6,000 bytes of small records in slabs of 4 KiB, 8 KiB ...; the large one on its own.
    expect(buffers.size).toBeLessThanOrEqual(3);
    expect(
      kept
        .filter((record) => record.data.byteLength === 2)
        .map((r) => Buffer.from(r.data).toString()),
    ).toEqual(Array.from({ length: 3000 }, (_, n) => `r${n % 10}`));
    expect(kept[1501]?.data.buffer.byteLength).toBe(20_000);
    expect(kept[1501]?.data.every((byte) => byte === 7)).toBe(true);
    const record = userRecord({ data: new Uint8Array([1, 2, 3]) });
    const notKeeping = new PendingBatch<string>(0);
    notKeeping.add('x\n', 2, record, noAck, false);
    expect(notKeeping.records).toHaveLength(0);
  });

  it('copies a record once for all of its events in one batch; another batch has its own copy', () => {
    const page = Buffer.from('aaaa|bbbb|cccc');
    const record = userRecord({ data: new Uint8Array(page.buffer, page.byteOffset + 5, 4) });
    const first = new PendingBatch<string>(0);
    const second = new PendingBatch<string>(0);
    first.add('one\n', 4, record, noAck, true);
    first.add('two\n', 4, record, noAck, true);
    second.add('three\n', 6, record, noAck, true);
    expect(first.records).toHaveLength(2);
    expect(first.records[1]).toBe(first.records[0]);
    expect(second.records[0]?.data.buffer).not.toBe(first.records[0]?.data.buffer);
    for (const kept of [...first.records, ...second.records]) {
      expect(kept.data.buffer).not.toBe(page.buffer);
      expect(Buffer.from(kept.data).toString()).toBe('bbbb');
    }
  });

  it('a batch of 400,000 events is bisected into parts (a spread of a half into push() ran out of stack)', () => {
    // A Redshift batch of this many rows is a plausible COPY (maxRecords raised, 64 MiB of
    // short rows); one bad row bisects it, and a part built with push(...half) threw
    // RangeError out of the sink's write: an unhandled rejection that ended the process.
    const record = userRecord({ data: new Uint8Array([1]) });
    const batch = new PendingBatch<string>(0);
    const size = 400_000;
    for (let n = 0; n < size; n += 1) batch.add('x\n', 2, record, noAck, true);
    const first = batch.slice(0, size / 2);
    const second = batch.slice(size / 2, size);
    expect([first.size, second.size]).toEqual([size / 2, size / 2]);
    expect([first.items.length, first.records.length]).toEqual([size / 2, size / 2]);
    expect(second.slice(0, 3).size).toBe(3);
  });
});
