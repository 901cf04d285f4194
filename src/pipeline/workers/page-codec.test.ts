import { describe, expect, it } from 'vitest';
import type { UserRecord } from '../../core/record.js';
import { userRecord } from '../../decode/fixtures/samples.js';
import { kplAggregate } from '../../demo/producer.js';
import { deaggregate } from '../../kinesis/deaggregate.js';
import {
  ResultWriter,
  packPage,
  unpackPage,
  unpackResults,
  type WorkerEvent,
} from './page-codec.js';
import { PackWriter } from './pack.js';

/** A record as plain data, its bytes as a plain array: what must survive the trip. */
function plain(record: UserRecord) {
  return {
    ...record,
    approximateArrivalTimestamp: record.approximateArrivalTimestamp.getTime(),
    data: Array.from(record.data),
  };
}

describe('page codec: a page of records as one transferable buffer', () => {
  it('round-trips every field and every byte', () => {
    const records = [
      userRecord('{"a":1}', { sequenceNumber: '1', partitionKey: 'pk-1' }),
      userRecord(new Uint8Array([0, 255, 128, 10, 13]), {
        sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
        subSequenceNumber: 7,
        explicitHashKey: '340282366920938463463374607431768211455',
        aggregated: true,
        approximateArrivalTimestamp: new Date(1_712_345_678_901),
      }),
      userRecord(new Uint8Array(), { sequenceNumber: '3', partitionKey: '' }),
    ];
    const page = packPage(records);
    expect(page).toBeInstanceOf(ArrayBuffer);
    expect(unpackPage(page).map(plain)).toEqual(records.map(plain));
  });

  it('keeps unicode keys exactly, lone surrogates included', () => {
    const keys = ['émoji 🎉', '中文键', '\ud800 lone high', 'lone low \udc00', 'a\u0000b'];
    const records = keys.map((partitionKey, n) =>
      userRecord(`{"k":"${partitionKey}"}`, { partitionKey, sequenceNumber: String(n) }),
    );
    const back = unpackPage(packPage(records));
    expect(back.map((r) => r.partitionKey)).toEqual(keys);
    expect(back.map(plain)).toEqual(records.map(plain));
  });

  it('packs an empty page', () => {
    expect(unpackPage(packPage([]))).toEqual([]);
  });

  it('carries KPL-deaggregated records with their sub-sequence numbers and own keys', () => {
    const aggregate = kplAggregate(
      ['x', 'yy', 'zzz'].map((text, i) => ({ partitionKey: `key-${i}`, data: Buffer.from(text) })),
    );
    const records = deaggregate(
      {
        Data: aggregate.data,
        PartitionKey: 'outer',
        SequenceNumber: '4960',
        ApproximateArrivalTimestamp: new Date('2024-05-06T07:08:09Z'),
      },
      'stream',
      'shardId-0',
    );
    expect(records).toHaveLength(3);
    const back = unpackPage(packPage(records));
    expect(back.map(plain)).toEqual(records.map(plain));
    expect(back.map((r) => Buffer.from(r.data).toString())).toEqual(['x', 'yy', 'zzz']);
  });

  it('grows past its first guess (large records)', () => {
    const big = new Uint8Array(1_000_000).map((_, i) => i % 251);
    const records = [userRecord(big), userRecord(big, { sequenceNumber: '2' })];
    const back = unpackPage(packPage(records));
    expect(back.map((r) => r.sequenceNumber)).toEqual([
      '49590338271490256608559692538361571095921575989136588898',
      '2',
    ]);
    expect(back.every((r) => Buffer.from(r.data).equals(Buffer.from(big)))).toBe(true);
  });
});

describe('page codec: the worker answer', () => {
  const event = (type: string, line: string): WorkerEvent => ({
    type,
    format: 'pinpoint',
    encoded: [
      null,
      {
        kind: 'csv',
        shapeId: 'generic',
        directory: 'p/2024/03/01/12/',
        line,
        bytes: Buffer.byteLength(line),
      },
    ],
  });

  it('round-trips verdicts, events and lines; line lengths are their UTF-8 bytes', () => {
    const writer = new ResultWriter(4, 2, 16);
    writer.decoded([event('_session.start', 'a,b,c\n'), event('OPEN', 'ü,"q""",🎉\n')]);
    writer.failed('json decoder: Unexpected token \ud83d in JSON');
    writer.decoded([]);
    writer.decoded([
      {
        type: 'x',
        format: 'raw',
        encoded: [
          null,
          { kind: 'json', shapeId: null, directory: 'd/', line: '{"a":"\\ud800"}\n', bytes: 15 },
        ],
      },
    ]);
    const results = unpackResults(writer.finish());
    expect(results).toEqual([
      { ok: true, events: [event('_session.start', 'a,b,c\n'), event('OPEN', 'ü,"q""",🎉\n')] },
      { ok: false, error: 'json decoder: Unexpected token \ud83d in JSON' },
      { ok: true, events: [] },
      {
        ok: true,
        events: [
          {
            type: 'x',
            format: 'raw',
            encoded: [
              null,
              {
                kind: 'json',
                shapeId: null,
                directory: 'd/',
                line: '{"a":"\\ud800"}\n',
                bytes: 15,
              },
            ],
          },
        ],
      },
    ]);
  });

  it('writes a line with a lone surrogate as the sink would: the same UTF-8 bytes', () => {
    // A CSV cell may hold a lone surrogate (from a JSON "\ud800" escape); the object body
    // is UTF-8, where the main thread writes U+FFFD for it, as does the trip through UTF-8.
    const line = 'a,\ud800,b\n';
    const writer = new ResultWriter(1, 1, 16);
    writer.decoded([
      {
        type: 't',
        format: 'json',
        encoded: [{ kind: 'csv', shapeId: 'generic', directory: '', line, bytes: 0 }],
      },
    ]);
    const [result] = unpackResults(writer.finish());
    const encoded = result?.ok ? result.events[0]?.encoded[0] : null;
    expect(Buffer.from(encoded?.line ?? '')).toEqual(Buffer.from(line));
    expect(encoded?.bytes).toBe(Buffer.byteLength(line));
  });

  it('refuses a message whose lengths point past its end', () => {
    const message = new PackWriter(8).finish();
    new DataView(message).setUint32(0, message.byteLength + 1, true);
    expect(() => unpackResults(message)).toThrow(/malformed/);
  });
});
