import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyBuffers, POOLED_BODY_BYTES, plainContentLength } from './body-buffers.js';

function streamOf(...chunks: Buffer[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

describe('BodyBuffers', () => {
  it('reads a body sent in several chunks into one buffer, byte for byte', async () => {
    const bodies = new BodyBuffers();
    const body = Buffer.from('{"Records":[],"NextShardIterator":"AAAA","MillisBehindLatest":0}');
    const read = await bodies.read(
      streamOf(body.subarray(0, 5), body.subarray(5, 40), body.subarray(40)),
      body.byteLength,
    );
    expect(read.bytes.equals(body)).toBe(true);
  });

  it('hands a released buffer to the next body, and never one still in use', async () => {
    const bodies = new BodyBuffers();
    const first = await bodies.read(streamOf(Buffer.from('first body')), 10);
    const second = await bodies.read(streamOf(Buffer.from('second body')), 11);
    // Both in use: two buffers.
    expect(second.bytes.buffer).not.toBe(first.bytes.buffer);
    expect(first.bytes.toString()).toBe('first body');
    first.release();
    first.release(); // a second release must not hand the buffer out twice
    const third = await bodies.read(streamOf(Buffer.from('third')), 5);
    const fourth = await bodies.read(streamOf(Buffer.from('fourth')), 6);
    expect(third.bytes.buffer).toBe(first.bytes.buffer);
    expect(fourth.bytes.buffer).not.toBe(first.bytes.buffer);
    expect([second.bytes.toString(), third.bytes.toString(), fourth.bytes.toString()]).toEqual([
      'second body',
      'third',
      'fourth',
    ]);
  });

  it('a stream that sends fewer or more bytes than its length yields exactly what it sent', async () => {
    const bodies = new BodyBuffers();
    const short = await bodies.read(streamOf(Buffer.from('abc')), 10);
    expect(short.bytes.toString()).toBe('abc');
    const long = await bodies.read(streamOf(Buffer.from('abcdef'), Buffer.from('ghij')), 4);
    expect(long.bytes.toString()).toBe('abcdefghij');
    // Neither is a view of a pooled buffer that a later body could overwrite.
    const next = await bodies.read(streamOf(Buffer.from('zzzzzzzzzz')), 10);
    expect(next.bytes.buffer).not.toBe(short.bytes.buffer);
    expect(next.bytes.buffer).not.toBe(long.bytes.buffer);
    expect([short.bytes.toString(), long.bytes.toString()]).toEqual(['abc', 'abcdefghij']);
  });

  it('a body larger than the pooled size gets a buffer of its own, not kept', async () => {
    const bodies = new BodyBuffers();
    const size = POOLED_BODY_BYTES + 1;
    const big = await bodies.read(streamOf(Buffer.alloc(size, 7)), size);
    expect(big.bytes.byteLength).toBe(size);
    big.release();
    const after = await bodies.read(streamOf(Buffer.from('x')), 1);
    expect(after.bytes.buffer).not.toBe(big.bytes.buffer);
  });
});

describe('plainContentLength', () => {
  it('is the Content-Length of an identity body, whatever the header case', () => {
    expect(plainContentLength({ 'content-length': '1234' })).toBe(1234);
    expect(plainContentLength({ 'Content-Length': ' 12 ' })).toBe(12);
    expect(plainContentLength({ 'content-length': '5', 'content-encoding': 'identity' })).toBe(5);
  });

  it('is null for an encoded body, a missing or a malformed length', () => {
    expect(plainContentLength({ 'content-length': '5', 'content-encoding': 'gzip' })).toBeNull();
    expect(plainContentLength({})).toBeNull();
    expect(plainContentLength({ 'content-length': '-1' })).toBeNull();
    expect(plainContentLength({ 'content-length': '12abc' })).toBeNull();
  });
});
