import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AWKWARD_TEXT } from '../../core/fixtures/awkward-text.js';
import { sampleEvent } from '../../demo/sample-events.js';
import { createDecoder, csvShapeFor } from '../../decode/index.js';
import { csvLine, EventEncoder, itemOf } from './event-encoder.js';
import { userRecord } from '../../../test/support/user-record.js';

/** The n-th record of shard 0, arrived `n` ms after `at`, holding `document` as JSON. */
function recordOf(n: number, at: number, document: object) {
  return userRecord({
    streamName: 'events',
    sequenceNumber: String(49_600_000_000_000_000_000n + BigInt(n)),
    partitionKey: `pk-${n}`,
    approximateArrivalTimestamp: new Date(at + n),
    data: Buffer.from(JSON.stringify(document)),
  });
}

describe('csvLine', () => {
  it('writes exactly what csv-stringify writes, quoting and escaping included', () => {
    const rows: string[][] = [
      ['plain', '', 'with space', ' lead', 'trail '],
      ['a,b', 'say "hi"', '"', '""', 'line\nbreak', 'cr\rhere', 'crlf\r\n'],
      ['{"k":"v","n":1}', 'ünïcødé', '=1+2', '-3', "'quote'", '\t'],
      [''],
      [],
    ];
    for (const row of rows) {
      expect(csvLine(row)).toBe(stringify([row], { eof: true }));
    }
  });
});

describe('EventEncoder, CSV', () => {
  it('writes each event as csv-stringify writes its values and counts the line in UTF-8', () => {
    const decoder = createDecoder('auto');
    const encoder = new EventEncoder('csv', false, csvShapeFor);
    const at = Date.parse('2026-01-02T03:04:05Z');
    const documents: object[] = Array.from({ length: 200 }, (_, n) => sampleEvent(n, at + n));
    for (const text of AWKWARD_TEXT.filter((text) => text !== '')) {
      documents.push({ id: text, type: text, time: at, attributes: { [text]: text } });
    }
    const kinds = new Set<string>();
    documents.forEach((document, n) => {
      const result = decoder.decode(recordOf(n, at, document));
      if (!result.ok) throw new Error(result.error);
      for (const event of result.events) {
        const encoded = encoder.encode(event);
        const shape = csvShapeFor(event);
        if (shape) expect(encoded.line).toBe(stringify([shape.values(event)]));
        expect(encoded.bytes).toBe(Buffer.byteLength(encoded.line));
        kinds.add(`${encoded.kind}:${shape?.id.split(':')[0] ?? 'none'}`);
      }
    });
    expect([...kinds].sort()).toEqual(['csv:airship', 'csv:generic', 'json:none']);
  });
});

describe('Parquet rows and the memory budget', () => {
  it('counts at least the heap its buffered rows really hold, for every input format', () => {
    v8.setFlagsFromString('--expose_gc');
    const gc = runInNewContext('gc') as () => void;
    const decoder = createDecoder('auto');
    const encoder = new EventEncoder('parquet', false, csvShapeFor);
    const at = Date.parse('2026-01-02T03:04:05Z');
    const decode = (n: number) => {
      const result = decoder.decode(recordOf(n, at, sampleEvent(n, at + n)));
      return result.ok ? result.events : [];
    };
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept: unknown[] = [];
    let counted = 0;
    // As in the relay: the event is dropped once encoded; its row keeps what it references.
    for (let n = 0; n < 20_000; n += 1) {
      for (const event of decode(n)) {
        const encoded = encoder.encode(event);
        kept.push(itemOf(encoded));
        counted += encoded.bytes;
      }
    }
    gc();
    const held = process.memoryUsage().heapUsed - before;
    expect(kept.some((item) => Array.isArray(item))).toBe(true);
    console.log(`parquet rows: heap ${held} B, counted ${counted} B`);
    expect(held).toBeLessThanOrEqual(counted);
  });
});
