import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { JsonValue, RelayEvent, SourceFormat } from '../core/event.js';
import { EventEncoder } from '../sinks/s3/event-encoder.js';
import { AIRSHIP_CSV_HEADERS } from './airship-csv-headers.js';
import { userRecord } from './fixtures/samples.js';
import { createDecoder, csvShapeFor } from './index.js';

/*
 * Every event example printed in the reference documents, read from verbatim excerpts
 * (fixtures/reference-examples/, copied from /work/shared/reference) rather than retyped,
 * decoded by `auto` and by its own format's decoder.
 */

type JsonObject = { [key: string]: JsonValue };

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/reference-examples/${name}`, import.meta.url), 'utf8');

/** Every balanced `{…}` in the text that parses as JSON, outermost first. */
function jsonObjects(text: string): JsonObject[] {
  const found: JsonObject[] = [];
  for (let start = text.indexOf('{'); start >= 0; start = text.indexOf('{', start + 1)) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i += 1) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i += 1;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') depth += 1;
      else if (c === '}' && --depth === 0) {
        try {
          found.push(JSON.parse(text.slice(start, i + 1)) as JsonObject);
          start = i; // nested objects belong to this example
        } catch {
          // a template or prose with braces: not an example
        }
        break;
      }
    }
  }
  return found;
}

/** mParticle prints Record.Data unencoded "for clarity"; on the wire it is base64. */
function asSent(doc: JsonObject): JsonObject {
  const record = doc['Record'] as { Data?: unknown } | undefined;
  if (!record || typeof record.Data !== 'object') return doc;
  return { ...doc, Record: { Data: Buffer.from(JSON.stringify(record.Data)).toString('base64') } };
}

type Expected = Pick<RelayEvent, 'type' | 'occurred' | 'appId' | 'deviceId' | 'userId'> & {
  readonly format: SourceFormat;
  readonly attributes?: Record<string, string>;
  readonly metrics?: Record<string, number>;
};

/** What each example means, read off the reference documents by hand. */
const EXPECTED: ReadonlyArray<readonly [file: string, events: Expected[]]> = [
  [
    'pinpoint-event-streaming.txt',
    [
      {
        format: 'pinpoint',
        type: '_session.stop',
        occurred: new Date(1487973802507).toISOString(),
        appId: 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6',
        deviceId: 'm3n4o5p6-a1b2-c3d4-e5f6-g7h8i9j0k1l2',
        userId: 'us-east-1:i9j0k1l2-m3n4-o5p6-a1b2-c3d4e5f6g7h8',
        attributes: {},
        metrics: {},
      },
      {
        format: 'pinpoint',
        type: '_email.delivered',
        occurred: new Date(1487973802507).toISOString(),
        appId: 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6',
        deviceId: 'm3n4o5p6-a1b2-c3d4-e5f6-g7h8i9j0k1l2',
        userId: 'us-east-1:i9j0k1l2-m3n4-o5p6-a1b2-c3d4e5f6g7h8',
      },
      {
        format: 'pinpoint',
        type: '_SMS.SUCCESS',
        occurred: new Date(13425345).toISOString(), // the example's "timestamp", in ms
        appId: 'AppKey-688037015201',
        deviceId: null,
        userId: null,
        metrics: { price_in_millicents_usd: 0 },
      },
    ],
  ],
  [
    'airship-rtds-aws-s3-kinesis.txt',
    [
      {
        format: 'airship',
        type: 'UNINSTALL',
        occurred: '2015-05-03T02:32:12.088Z',
        appId: null,
        deviceId: null,
        userId: 'named-user-id-123',
      },
    ],
  ],
  [
    'mparticle-kinesis-audience.txt',
    [
      {
        format: 'mparticle',
        type: 'audience_member_added',
        occurred: new Date(1234565788 * 1000).toISOString(),
        appId: '123123',
        deviceId: 'phileas83',
        userId: 'p.fogg138',
      },
      {
        format: 'mparticle',
        type: 'audience_member_removed',
        occurred: new Date(1234565788 * 1000).toISOString(),
        appId: '123123',
        deviceId: null,
        userId: 'p.fogg138',
      },
    ],
  ],
  [
    'mobile-analytics-put-events.txt',
    [
      {
        format: 'mobile-analytics',
        type: 'LevelComplete',
        occurred: '2014-06-30T19:07:47.885Z',
        appId: null,
        deviceId: null,
        userId: null,
        attributes: { LevelName: 'Level1', CharacterClass: 'Warrior', Successful: 'True' },
        metrics: { Score: 12345, TimeInLevel: 64 },
      },
    ],
  ],
];

describe('every example of the reference documents', () => {
  it('finds exactly the printed event examples (7), so a new one cannot go untested', () => {
    const counts = EXPECTED.map(([file]) => jsonObjects(fixture(file)).length);
    expect(counts).toEqual([3, 1, 2, 1]);
  });

  for (const [file, expected] of EXPECTED) {
    it(`${file}: decodes to the expected normalized events with auto and its own decoder`, () => {
      const documents = jsonObjects(fixture(file)).map(asSent);
      documents.forEach((document, index) => {
        const want = expected[index]!;
        for (const decoder of [createDecoder('auto'), createDecoder(want.format)]) {
          const result = decoder.decode(userRecord(document));
          if (!result.ok) throw new Error(`${file} example ${index}: ${result.error}`);
          expect(result.events).toHaveLength(1);
          const event = result.events[0]!;
          expect(event).toMatchObject(want);
          expect(event.id).not.toBe('');
          // The original is kept: for mParticle the decoded membership message.
          expect(event.original).not.toBeNull();
          // Every reference event has a CSV row (Airship per type, the others flattened).
          expect(csvShapeFor(event)).not.toBeNull();
        }
      });
    });
  }

  it('Airship CSV output has exactly the reference header of each type (tag changes: JSON)', () => {
    const appendix = readFileSync(
      new URL('./fixtures/airship-csv-headers.reference.txt', import.meta.url),
      'utf8',
    ).split('\n');
    const [uninstall] = jsonObjects(fixture('airship-rtds-aws-s3-kinesis.txt'));
    const encoder = new EventEncoder('csv', true, csvShapeFor);
    let types = 0;
    let csvTypes = 0;
    appendix.forEach((line, index) => {
      const type = /^\s*- ([A-Z_]+)$/.exec(line)?.[1];
      const next = appendix[index + 1]?.trim() ?? '';
      if (type === undefined || !next.startsWith('- ID,')) return;
      types += 1;
      // The reference's one typo: "APP_VERSION DEVICE_MODEL" lacks its comma.
      const header = next
        .slice(2)
        .replaceAll('APP_VERSION DEVICE_MODEL', 'APP_VERSION, DEVICE_MODEL');
      const result = createDecoder('airship').decode(userRecord({ ...uninstall, type }));
      if (!result.ok) throw new Error(`${type}: ${result.error}`);
      const encoded = encoder.encode(result.events[0]!);
      if (type === 'TAG_CHANGE') {
        // The appendix lists its columns, but the prose sends tag changes to JSON only.
        expect(encoded.kind, type).toBe('json');
        return;
      }
      csvTypes += 1;
      expect(encoded.kind, type).toBe('csv');
      expect(encoded.shape?.header.join(', '), type).toBe(header);
      expect(encoded.shape?.header, type).toEqual(AIRSHIP_CSV_HEADERS[type]);
    });
    expect(types).toBe(29);
    expect(csvTypes).toBe(28);
  });
});
