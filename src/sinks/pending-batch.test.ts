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
    expect(kept?.data.byteOffset).toBe(0);
    expect(kept?.data.buffer.byteLength).toBe(4);
    // Everything else about the record is what was added.
    expect({ ...kept, data: null }).toEqual({ ...record, data: null });
    expect(held).toBe(5 + 4 + 1024);
    // Later changes to the page do not reach the kept bytes.
    page.write('zzzz', 5);
    expect(Buffer.from(kept?.data ?? []).toString()).toBe('bbbb');
  });

  it('keeps a record that owns its buffer as it is, and none without keepData', () => {
    const record = userRecord({ data: new Uint8Array([1, 2, 3]) });
    const keeping = new PendingBatch<string>(0);
    keeping.add('x\n', 2, record, noAck, true);
    expect(keeping.records[0]).toBe(record);
    const notKeeping = new PendingBatch<string>(0);
    notKeeping.add('x\n', 2, record, noAck, false);
    expect(notKeeping.records).toHaveLength(0);
  });

  it('copies a record once, however many of its events and sinks keep it', () => {
    const page = Buffer.from('aaaa|bbbb|cccc');
    const record = userRecord({ data: new Uint8Array(page.buffer, page.byteOffset + 5, 4) });
    const first = new PendingBatch<string>(0);
    const second = new PendingBatch<string>(0);
    first.add('one\n', 4, record, noAck, true);
    first.add('two\n', 4, record, noAck, true);
    second.add('three\n', 6, record, noAck, true);
    const kept = [...first.records, ...second.records];
    expect(kept).toHaveLength(3);
    expect(new Set(kept.map((held) => held.data.buffer)).size).toBe(1);
    expect(kept[0]?.data.buffer).not.toBe(page.buffer);
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
