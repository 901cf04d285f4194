import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { LineChunk } from '../sink.js';
import { ObjectBatch } from './batch.js';
import { deterministicGzip } from './deterministic-gzip.js';
import { plainBody } from './object-writer.js';
import { DEFLATE_STATE_BYTES } from './streaming-gzip.js';
import { noAck, userRecord } from '../../../test/support/user-record.js';

const RECORD = userRecord();
const HEADER = 'id,type,note\n';

/** CSV-ish lines of varied lengths, some non-ASCII, one longer than a 64 KiB chunk. */
function lines(count: number): string[] {
  return Array.from({ length: count }, (_, n) =>
    n === 700
      ? `${n},huge,${'y'.repeat(100_000)}\n`
      : `${n},évènement-${n},${'x'.repeat(n % 900)}\n`,
  );
}

function fill(batch: ObjectBatch, items: readonly string[]): void {
  for (const line of items) batch.add(line, Buffer.byteLength(line), RECORD, noAck, false);
}

describe('an S3 object gzipped as its lines arrive', () => {
  it('is the object built at the end, byte for byte, and holds no line once it compresses', async () => {
    const items = lines(3000);
    const streamed = new ObjectBatch('d/', 'csv', null, new Date(0), 0, HEADER);
    fill(streamed, items);
    // Past the threshold nothing is kept per event but its acknowledgement handle.
    expect(streamed.items).toHaveLength(0);
    expect(streamed.size).toBe(3000);
    const body = await streamed.streamedBody();
    if (!body) throw new Error('the batch did not compress as it went');
    const expected = HEADER + items.join('');
    expect(gunzipSync(body).toString()).toBe(expected);
    // Byte for byte the object built at the end: deflate does not depend on how its
    // input was split, and the settings and the pinned OS byte are the same.
    const built = await deterministicGzip(Buffer.from(expected));
    expect(body.equals(built)).toBe(true);
  });

  it('gzipLevel 6 writes the bytes of the zlib default level, as every release did; another level its own', async () => {
    const items = lines(3000);
    const expected = HEADER + items.join('');
    // The settings before gzipLevel existed: Z_DEFAULT_COMPRESSION, OS byte pinned to Unix.
    const before = gzipSync(Buffer.from(expected), {
      level: constants.Z_DEFAULT_COMPRESSION,
      strategy: constants.Z_DEFAULT_STRATEGY,
      memLevel: 8,
      windowBits: 15,
    });
    before[9] = 3;
    for (const level of [undefined, 6]) {
      const streamed = new ObjectBatch('d/', 'csv', null, new Date(0), 0, HEADER, level);
      fill(streamed, items);
      const body = await streamed.streamedBody();
      expect(body?.equals(before), `level ${String(level)}`).toBe(true);
      expect((await deterministicGzip(Buffer.from(expected), level)).equals(before)).toBe(true);
    }
    const fast = new ObjectBatch('d/', 'csv', null, new Date(0), 0, HEADER, 1);
    fill(fast, items);
    const body = await fast.streamedBody();
    if (!body) throw new Error('the batch did not compress as it went');
    expect(gunzipSync(body).toString()).toBe(expected);
    expect(body.equals(before)).toBe(false);
    // The object built at the end at the same level: the same bytes.
    expect(body.equals(await deterministicGzip(Buffer.from(expected), 1))).toBe(true);
  });

  it('a batch whose lines weigh less than a deflate stream keeps them and is built at the end', async () => {
    const items = ['a,1\n', 'b,2\n'];
    const batch = new ObjectBatch('d/', 'json', null, new Date(0), 0, '');
    fill(batch, items);
    expect(batch.bytes).toBeLessThan(DEFLATE_STATE_BYTES);
    expect(batch.items).toEqual(items);
    expect(await batch.streamedBody()).toBeNull();
    expect(plainBody(batch).toString()).toBe('a,1\nb,2\n');
  });

  it('without a header (no gzip) the lines are kept whatever their size', async () => {
    const batch = new ObjectBatch('d/', 'json', null, new Date(0), 0);
    fill(batch, lines(1000));
    expect(batch.items).toHaveLength(1000);
    expect(await batch.streamedBody()).toBeNull();
  });
});

describe('an S3 object made of page chunks', () => {
  function chunk(text: string): LineChunk {
    const body = new Uint8Array(Buffer.from(text));
    return {
      kind: 'csv',
      shapeId: null,
      directory: 'd/',
      arrivalHour: 0,
      firstArrivalMs: 0,
      oldestArrivalMs: 0,
      body,
      records: null,
      events: 1,
      bytes: body.byteLength,
    };
  }

  it('is the header and the chunks in order, and holds them only as that one body', async () => {
    const batch = new ObjectBatch('d/', 'csv', null, new Date(0), 0);
    const header = new Uint8Array(Buffer.from(HEADER));
    const chunks = [chunk('1,a,x\n2,b,y\n'), chunk('3,c,z\n')];
    for (const each of chunks) batch.addStoredChunk(each, noAck, () => header);
    const body = await batch.streamedBody();
    expect(body?.toString()).toBe(`${HEADER}1,a,x\n2,b,y\n3,c,z\n`);
    // The parts were freed as the body was made: an upload holds the object's bytes once.
    expect(header.byteLength).toBe(0);
    for (const each of chunks) expect(each.body.byteLength).toBe(0);
    // A write tried again uploads the same bytes.
    expect(await batch.streamedBody()).toBe(body);
  });
});
