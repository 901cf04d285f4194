import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { RecordPosition, UserRecord } from '../../core/record.js';
import {
  AIRSHIP_LOCATION,
  PINPOINT_APP_EVENT,
  mparticleEnvelope,
  MPARTICLE_MEMBER_ADDED_DATA,
} from '../../decode/fixtures/samples.js';
import { createDecoder, csvShapeFor } from '../../decode/index.js';
import { kplAggregate } from '../../demo/producer.js';
import { EventEncoder } from '../../sinks/s3/event-encoder.js';
import { KeyLayout } from '../../sinks/s3/key-layout.js';
import { readKeptRecords } from '../../sinks/kept-records.js';
import { RouteFilter } from '../router.js';
import { getRecordsBody } from '../../../test/support/kinesis-record.js';
import {
  PageChunker,
  type ChunkSinkSpec,
  type ChunkedPage,
  type PageAnswer,
  type PageChunk,
  type PageChunkerSpec,
} from './page-chunker.js';

/*
 * A page chunked in a worker must hold what the S3 sink's own write path makes of the same
 * records: each event's line from the sink's encoder, under the directory of its key
 * layout, in record order per object, never two arrival hours in one chunk; and the
 * positions, counts and dead-letter entries the per-record path would report.
 */

const STREAM = 'engagement-events';
const SHARD = 'shardId-000000000004';
const HOUR = 3_600_000;
const BASE = Date.UTC(2024, 2, 1, 12, 59, 58);

interface WireRecord {
  readonly data: Uint8Array | string;
  readonly sequence: number;
  readonly arrivalMs?: number;
  readonly partitionKey?: string;
}

const sequenceNumber = (n: number) => String(49_000_000_000_000_000n + BigInt(n));

/** A GetRecords response body as Kinesis writes it (epoch seconds, base64 data). */
function body(records: readonly WireRecord[], extra: Record<string, unknown> = {}): ArrayBuffer {
  const wire = records.map((record) => ({
    SequenceNumber: sequenceNumber(record.sequence),
    ApproximateArrivalTimestamp: new Date(record.arrivalMs ?? BASE),
    Data: typeof record.data === 'string' ? Buffer.from(record.data) : record.data,
    PartitionKey: record.partitionKey ?? `pk-${record.sequence}`,
  }));
  return new Uint8Array(getRecordsBody(wire, { behind: 42, extra })).buffer;
}

/** A page of `records` chunked for `sinks`, skipping through `skipThrough`. */
function chunkOf(
  sinks: readonly ChunkSinkSpec[],
  records: readonly WireRecord[],
  skipThrough: RecordPosition | null = null,
): Promise<ChunkedPage> {
  return chunked(
    new PageChunker(spec(sinks)).chunkPage({
      body: body(records),
      streamName: STREAM,
      shardId: SHARD,
      skipThrough,
    }),
  );
}

function s3Sink(name: string, overrides: Partial<ChunkSinkSpec> = {}): ChunkSinkSpec {
  return {
    name,
    filter: { eventTypes: [], formats: [] },
    encoding: {
      format: 'csv',
      verbatimJson: false,
      layout: { layout: 'hourly', sinkName: name, prefix: `${name}/`, compression: 'gzip' },
    },
    maxEvents: 50_000,
    maxBytes: 64 * 1024 * 1024,
    gzipLevel: 6,
    keepsRecords: false,
    ...overrides,
  };
}

function spec(sinks: readonly ChunkSinkSpec[]): PageChunkerSpec {
  return { decodeFormat: 'auto', streamInIds: false, sinks };
}

async function chunked(pending: Promise<PageAnswer>): Promise<ChunkedPage> {
  const answer = await pending;
  if (!answer.parsed) throw new Error('the page was not parsed');
  return answer;
}

/** A chunk's lines, from its stored body (a gzip member for a gzip sink). */
function textOf(chunk: PageChunk): string {
  const body = Buffer.from(chunk.body);
  const gzip = body[0] === 0x1f && body[1] === 0x8b;
  return (gzip ? gunzipSync(body) : body).toString('utf8');
}

/**
 * What the S3 sink's write path makes of the same user records, per object key (sink,
 * kind, shape, arrival hour, directory): the lines in order.
 */
function perEventLines(
  records: readonly UserRecord[],
  sinks: readonly ChunkSinkSpec[],
): Map<string, string> {
  const decoder = createDecoder('auto');
  const out = new Map<string, string>();
  sinks.forEach((sink, index) => {
    const encoder = new EventEncoder(sink.encoding.format, sink.encoding.verbatimJson, csvShapeFor);
    const layout = new KeyLayout({ ...sink.encoding.layout, resolveShape: csvShapeFor });
    const filter = new RouteFilter(sink.filter);
    for (const record of records) {
      const result = decoder.decode(record);
      if (!result.ok) continue;
      for (const event of result.events) {
        if (!filter.accepts(event.type, event.format, record.streamName)) continue;
        const encoded = encoder.encode(event);
        const hour = Math.floor(record.approximateArrivalTimestamp.getTime() / HOUR);
        const key = `${index}|${encoded.kind}|${encoded.shape?.id ?? ''}|${hour}|${layout.directory(event, encoded.kind)}`;
        out.set(key, (out.get(key) ?? '') + encoded.line);
      }
    }
  });
  return out;
}

function chunkLines(page: ChunkedPage): Map<string, string> {
  const out = new Map<string, string>();
  for (const chunk of page.chunks) {
    const key = `${chunk.sinkIndex}|${chunk.kind}|${chunk.shapeId ?? ''}|${chunk.arrivalHour}|${chunk.directory}`;
    out.set(key, (out.get(key) ?? '') + textOf(chunk));
  }
  return out;
}

function userRecords(records: readonly WireRecord[]): UserRecord[] {
  return records.map((record) => ({
    streamName: STREAM,
    shardId: SHARD,
    sequenceNumber: sequenceNumber(record.sequence),
    subSequenceNumber: 0,
    partitionKey: record.partitionKey ?? `pk-${record.sequence}`,
    aggregated: false,
    approximateArrivalTimestamp: new Date(record.arrivalMs ?? BASE),
    data: typeof record.data === 'string' ? Buffer.from(record.data) : record.data,
  }));
}

const MIXED: WireRecord[] = [
  { data: JSON.stringify(PINPOINT_APP_EVENT), sequence: 1 },
  { data: JSON.stringify(AIRSHIP_LOCATION), sequence: 2 },
  { data: '{"broken json', sequence: 3 },
  {
    data: JSON.stringify({ ...PINPOINT_APP_EVENT, attributes: { q: 'a,"b"\nc ünï 🎉' } }),
    sequence: 4,
    arrivalMs: BASE + 3_000, // the next hour
  },
  { data: JSON.stringify(mparticleEnvelope(MPARTICLE_MEMBER_ADDED_DATA)), sequence: 5 },
  { data: JSON.stringify({ id: 'plain', type: 'x' }), sequence: 6 },
];

describe('PageChunker', () => {
  it("holds, per object, the lines the sink's own write path makes, in record order", async () => {
    const sinks = [
      s3Sink('csv'),
      s3Sink('jsonl', {
        encoding: {
          format: 'jsonl',
          verbatimJson: false,
          layout: { layout: 'hourly', sinkName: 'jsonl', prefix: 'j/', compression: 'none' },
        },
      }),
    ];
    const page = await chunkOf(sinks, MIXED);
    const expected = perEventLines(userRecords(MIXED), sinks);
    expect(expected.size).toBeGreaterThan(3); // several shapes, hours and both sinks
    expect(chunkLines(page)).toEqual(expected);
    for (const chunk of page.chunks) {
      // Stored as the sink's objects are: a gzip member for the gzip sink, else UTF-8.
      const gzipMagic = chunk.body[0] === 0x1f && chunk.body[1] === 0x8b;
      expect(gzipMagic).toBe(chunk.sinkIndex === 0);
      expect(chunk.bytes).toBe(Buffer.byteLength(textOf(chunk)));
      expect(chunk.events).toBe(
        textOf(chunk).split('\n').length - 1 - newlinesInCells(textOf(chunk)),
      );
    }
    // One hour per chunk: the record of the next hour is in chunks of its own.
    const hours = new Set(page.chunks.map((chunk) => chunk.arrivalHour));
    expect(hours).toEqual(new Set([Math.floor(BASE / HOUR), Math.floor(BASE / HOUR) + 1]));
  });

  it('reports the positions and counts the per-record path would, and the undecodable record as a dead-letter entry', async () => {
    const page = await chunkOf([s3Sink('csv')], MIXED);
    expect(page).toMatchObject({
      nextIterator: 'next-iterator',
      millisBehindLatest: 42,
      kinesisRecords: 6,
      pageUserRecords: 6,
      userRecords: 6,
      firstSequenceNumber: sequenceNumber(1),
      last: { sequenceNumber: sequenceNumber(6), subSequenceNumber: 0 },
      lastArrivalMs: BASE,
    });
    const dataBytes = MIXED.reduce((sum, record) => sum + Buffer.byteLength(record.data), 0);
    expect(page.pageDataBytes).toBe(dataBytes);
    expect(page.deadLetters).toEqual([
      expect.objectContaining({
        stream: STREAM,
        shardId: SHARD,
        sequenceNumber: sequenceNumber(3),
        subSequenceNumber: 0,
        reason: 'decode_failed',
        sink: null,
        data: Buffer.from('{"broken json').toString('base64'),
      }),
    ]);
    expect(page.deadLetters[0]?.error).toMatch(/json/i);
    const events = page.chunks.reduce((sum, chunk) => sum + chunk.events, 0);
    expect(events).toBe(5);
  });

  it('skips the records at or below skipThrough, and reports the page as read', async () => {
    const page = await chunkOf([s3Sink('csv')], MIXED, {
      sequenceNumber: sequenceNumber(4),
      subSequenceNumber: 0,
    });
    expect(page.pageUserRecords).toBe(6);
    expect(page.userRecords).toBe(2);
    expect(page.firstSequenceNumber).toBe(sequenceNumber(1));
    expect(page.deadLetters).toEqual([]);
    expect(chunkLines(page)).toEqual(perEventLines(userRecords(MIXED).slice(4), [s3Sink('csv')]));
    expect(page.dataBytes).toBe(
      Buffer.byteLength(MIXED[4]!.data) + Buffer.byteLength(MIXED[5]!.data),
    );
  });

  it('a page of nothing after the skip has no position, chunks or entries', async () => {
    const page = await chunkOf([s3Sink('csv')], MIXED, {
      sequenceNumber: sequenceNumber(6),
      subSequenceNumber: 0,
    });
    expect(page).toMatchObject({ userRecords: 0, last: null, chunks: [], deadLetters: [] });
  });

  it("cuts chunks at the sink's maxRecords and maxBytes, so no chunk is larger than a batch may be", async () => {
    const records: WireRecord[] = Array.from({ length: 25 }, (_, index) => ({
      data: JSON.stringify({ ...PINPOINT_APP_EVENT, attributes: { n: String(index) } }),
      sequence: index + 1,
    }));
    const byCount = await chunkOf([s3Sink('csv', { maxEvents: 10 })], records);
    expect(byCount.chunks.map((chunk) => chunk.events)).toEqual([10, 10, 5]);
    expect(byCount.chunks.map((chunk) => textOf(chunk)).join('')).toBe(
      [...perEventLines(userRecords(records), [s3Sink('csv')]).values()].join(''),
    );
    const lineBytes = byCount.chunks[0]!.bytes / 10;
    const byBytes = await chunkOf(
      [s3Sink('csv', { maxBytes: Math.floor(lineBytes * 4.5) })],
      records,
    );
    expect(byBytes.chunks.map((chunk) => chunk.events)).toEqual([4, 4, 4, 4, 4, 4, 1]);
    for (const chunk of byBytes.chunks) expect(chunk.bytes).toBeLessThanOrEqual(lineBytes * 4.5);
  });

  it('carries, where the sink dead-letters, each event’s record with its chunk (and nothing where it does not)', async () => {
    const records: WireRecord[] = Array.from({ length: 25 }, (_, index) => ({
      data: JSON.stringify({ ...PINPOINT_APP_EVENT, attributes: { n: String(index) } }),
      sequence: index + 1,
      // The last five an hour later: an object of their own.
      arrivalMs: BASE + (index >= 20 ? HOUR : 0),
    }));
    const page = await chunkOf([s3Sink('csv', { maxEvents: 10, keepsRecords: true })], records);
    expect(page.chunks.map((chunk) => chunk.events)).toEqual([10, 10, 5]);
    const expected = userRecords(records);
    const carried = page.chunks.flatMap((chunk) =>
      readKeptRecords(chunk.records ?? new Uint8Array()),
    );
    const plain = (record: UserRecord) => ({
      ...record,
      data: Buffer.from(record.data).toString(),
    });
    expect(carried.map(plain)).toEqual(expected.map(plain));
    const without = await chunkOf([s3Sink('csv', { maxEvents: 10 })], records);
    expect(without.chunks.map((chunk) => chunk.records)).toEqual([null, null, null]);
  });

  it("routes by each sink's filter: a sink that takes no event of the page gets no chunk", async () => {
    const sinks = [
      s3Sink('sessions', {
        filter: { eventTypes: ['_session.stop'], formats: [] },
      }),
      s3Sink('airship', { filter: { eventTypes: [], formats: ['airship'] } }),
      s3Sink('other-stream', { filter: { eventTypes: [], formats: [], streams: ['other'] } }),
    ];
    const page = await chunkOf(sinks, MIXED);
    expect(chunkLines(page)).toEqual(perEventLines(userRecords(MIXED), sinks));
    expect(new Set(page.chunks.map((chunk) => chunk.sinkIndex))).toEqual(new Set([0, 1]));
  });

  it('reads KPL aggregates into their user records', async () => {
    const aggregate = kplAggregate(
      [JSON.stringify(PINPOINT_APP_EVENT), 'not json', JSON.stringify({ id: 'k', type: 't' })].map(
        (text, index) => ({ partitionKey: `agg-${index}`, data: Buffer.from(text) }),
      ),
    );
    const page = await chunkOf([s3Sink('csv')], [{ data: aggregate.data, sequence: 9 }]);
    expect(page).toMatchObject({
      kinesisRecords: 1,
      pageUserRecords: 3,
      userRecords: 3,
      last: { sequenceNumber: sequenceNumber(9), subSequenceNumber: 2 },
    });
    expect(page.deadLetters.map((entry) => entry.subSequenceNumber)).toEqual([1]);
    expect(page.chunks.reduce((sum, chunk) => sum + chunk.events, 0)).toBe(2);
  });

  it('leaves a body its reader does not take (child shards, an unusual response) to the SDK', async () => {
    const chunker = new PageChunker(spec([s3Sink('csv')]));
    const task = (buffer: ArrayBuffer) => ({
      body: buffer,
      streamName: STREAM,
      shardId: SHARD,
      skipThrough: null,
    });
    const children = { ChildShards: [{ ShardId: 'shardId-000000000009', ParentShards: [SHARD] }] };
    expect(await chunker.chunkPage(task(body(MIXED, children)))).toEqual({ parsed: false });
    const odd = Buffer.from('{"Records":[{"Data":"not base64!"}]}');
    expect(
      await chunker.chunkPage(
        task(odd.buffer.slice(odd.byteOffset, odd.byteOffset + odd.byteLength)),
      ),
    ).toEqual({
      parsed: false,
    });
  });
});

/** Line feeds inside quoted CSV cells (the attribute above holds one). */
function newlinesInCells(text: string): number {
  let inside = false;
  let count = 0;
  for (const char of text) {
    if (char === '"') inside = !inside;
    else if (char === '\n' && inside) count += 1;
  }
  return count;
}
