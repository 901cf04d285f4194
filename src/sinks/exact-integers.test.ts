import { describe, expect, it } from 'vitest';
import type { RelayEvent } from '../core/event.js';
import { sampleEvent } from '../demo/sample-events.js';
import { createDecoder, csvShapeFor } from '../decode/index.js';
import { userRecord } from '../decode/fixtures/samples.js';
import { checkedCsvRow, tableColumns } from './redshift/columns.js';
import { EventEncoder, normalizedDocument } from './s3/event-encoder.js';
import { payloadBody } from './webhook/request-body.js';
import { webhookDocument } from './webhook/webhook-document.js';

/*
 * Integers beyond 2^53 anywhere in a user's document reach every sink with the digits sent
 * (JSON.parse alone rounds 12345678901234567890 to 12345678901234567000), and documents
 * without them are written exactly as before. Each source text below is written the way
 * JSON.stringify writes (no spaces), so an exact `original` is the source text itself.
 */

const BIG = '12345678901234567890';
const MIN_INT64 = '-9223372036854775808';

const JSON_DOC =
  `{"id":"e-1","type":"order","big":${BIG},"min":${MIN_INT64},` +
  `"nested":{"list":[${BIG},1.5,9007199254740993],"safe":9007199254740991},` +
  `"attributes":{"order":${BIG},"name":"x"},"metrics":{"count":${MIN_INT64},"price":2.5}}`;

const AIRSHIP_DOC =
  `{"id":"a-1","type":"CUSTOM","occurred":"2024-03-01T12:00:00.000Z",` +
  `"processed":"2024-03-01T12:00:01.000Z","offset":${BIG},` +
  `"device":{"channel":"c-1"},"body":{"name":"buy","value":${MIN_INT64},"ref":${BIG}}}`;

const PINPOINT_DOC =
  `{"event_type":"_custom.buy","event_timestamp":1700000000000,` +
  `"application":{"app_id":"app-1"},"attributes":{"order":${BIG}},` +
  `"metrics":{"count":${MIN_INT64}},"session":{"id":${BIG}}}`;

const MA_DOC =
  `{"events":[{"eventType":"buy","timestamp":"2024-03-01T12:00:00.000Z","version":"v2.0",` +
  `"metrics":{"count":${BIG}}},{"eventType":"buy","timestamp":"2024-03-01T12:00:00.000Z",` +
  `"version":"v2.0","metrics":{"count":${MIN_INT64}}}]}`;

const MPARTICLE_DATA =
  `{"MembershipChangedTimestamp":"1234565788","AudienceId":${BIG},"IsMember":true,` +
  `"UserIdentities":{"CustomerId":"c-1"},"Extra":{"n":${MIN_INT64}}}`;
const MPARTICLE_DOC = JSON.stringify({
  DeliveryStreamName: 'audiences',
  Record: { Data: Buffer.from(MPARTICLE_DATA).toString('base64') },
});

function decode(text: string): readonly RelayEvent[] {
  const result = createDecoder('auto').decode(userRecord(text));
  if (!result.ok) throw new Error(result.error);
  return result.events;
}

function only(text: string): RelayEvent {
  const [event, ...rest] = decode(text);
  if (!event || rest.length > 0) throw new Error('expected one event');
  return event;
}

const jsonl = new EventEncoder('jsonl', false, csvShapeFor);
const verbatim = new EventEncoder('jsonl', true, csvShapeFor);
const csv = new EventEncoder('csv', false, csvShapeFor);
const parquet = new EventEncoder('parquet', false, csvShapeFor);

/** The part of a normalized document's JSON after `"original":`. */
function originalText(line: string): string {
  const at = line.indexOf('"original":');
  return line
    .slice(at + '"original":'.length)
    .trimEnd()
    .slice(0, -1);
}

describe('integers beyond 2^53 reach every sink exactly', () => {
  it('a 20-digit integer and -2^63 in a JSON document come out of S3 JSON Lines and webhooks exactly', () => {
    const event = only(JSON_DOC);
    expect(originalText(jsonl.encode(event).line)).toBe(JSON_DOC);
    expect(originalText(webhookDocument(event))).toBe(JSON_DOC);
    const body = payloadBody('json', 'r-1', [Buffer.from(webhookDocument(event))], 0).toString();
    expect(body).toContain(`"original":${JSON_DOC}}`);
    const firehose = JSON.parse(
      payloadBody('firehose', 'r-1', [Buffer.from(webhookDocument(event))], 0).toString(),
    ) as { records: Array<{ data: string }> };
    expect(Buffer.from(firehose.records[0]?.data ?? '', 'base64').toString()).toContain(
      `"original":${JSON_DOC}}`,
    );
    const line = jsonl.encode(event).line;
    expect(line).toContain(`"attributes":{"order":"${BIG}","name":"x"}`);
    expect(line).toContain(`"metrics":{"count":${MIN_INT64},"price":2.5}`);
  });

  it('attributes and metrics keep the digits in the S3 CSV and Parquet columns', () => {
    const event = only(JSON_DOC);
    expect(event.attributes['order']).toBe(BIG);
    const line = csv.encode(event).line;
    expect(line).toContain(`"{""order"":""${BIG}"",""name"":""x""}"`);
    expect(line).toContain(`"{""count"":${MIN_INT64},""price"":2.5}"`);
    const row = parquet.encode(event).row ?? [];
    expect(row).toContain(`{"order":"${BIG}","name":"x"}`);
    expect(row).toContain(`{"count":${MIN_INT64},"price":2.5}`);
  });

  it('Redshift rows hold the exact original, attributes, metrics and original paths', () => {
    const event = only(JSON_DOC);
    const columns = tableColumns({
      original: 'original',
      attributes: 'attributes',
      metrics: 'metrics',
      big: 'original.big',
      min: 'original.min',
      nested: 'original.nested',
      count: 'metrics.count',
      order: 'attributes.order',
    });
    const row = checkedCsvRow(columns, event, {});
    if (!row.ok) throw new Error('row too long');
    const text = row.row.toString();
    const quoted = (json: string) => `"${json.replaceAll('"', '""')}"`;
    expect(text).toContain(quoted(JSON_DOC));
    expect(text).toContain(quoted(`{"order":"${BIG}","name":"x"}`));
    expect(text).toContain(quoted(`{"count":${MIN_INT64},"price":2.5}`));
    expect(
      text
        .trimEnd()
        .endsWith(
          `,${BIG},${MIN_INT64},${quoted(`{"list":[${BIG},1.5,9007199254740993],"safe":9007199254740991}`)},${MIN_INT64},${BIG}`,
        ),
    ).toBe(true);
  });

  it('an Airship event keeps its offset and body integers in the verbatim JSON and the CSV', () => {
    const event = only(AIRSHIP_DOC);
    expect(verbatim.encode(event).line).toBe(`${AIRSHIP_DOC}\n`);
    const encoded = csv.encode(event);
    const header = encoded.shape?.header ?? [];
    const cells = encoded.line.trimEnd().split(',');
    expect(cells[header.indexOf('OFFSET')]).toBe(BIG);
    expect(originalText(jsonl.encode(event).line)).toBe(AIRSHIP_DOC);
  });

  it('Pinpoint, Mobile Analytics and mParticle events with such integers are decoded, not dead-lettered, and kept exactly', () => {
    const pinpoint = only(PINPOINT_DOC);
    expect(pinpoint.format).toBe('pinpoint');
    expect(originalText(jsonl.encode(pinpoint).line)).toBe(PINPOINT_DOC);
    expect(pinpoint.attributes['order']).toBe(BIG);
    expect(jsonl.encode(pinpoint).line).toContain(`"metrics":{"count":${MIN_INT64}}`);

    const batch = decode(MA_DOC);
    expect(batch.map((event) => originalText(jsonl.encode(event).line))).toEqual([
      `{"events":[{"eventType":"buy","timestamp":"2024-03-01T12:00:00.000Z","version":"v2.0","metrics":{"count":${BIG}}}]}`,
      `{"events":[{"eventType":"buy","timestamp":"2024-03-01T12:00:00.000Z","version":"v2.0","metrics":{"count":${MIN_INT64}}}]}`,
    ]);

    const membership = only(MPARTICLE_DOC);
    expect(membership.appId).toBe(BIG);
    expect(originalText(jsonl.encode(membership).line)).toBe(
      `{"DeliveryStreamName":"audiences","Record":{"Data":${MPARTICLE_DATA}}}`,
    );
  });

  it('documents without such integers are written byte for byte as JSON.stringify writes them', () => {
    const at = Date.parse('2026-01-02T03:04:05Z');
    const documents: string[] = Array.from({ length: 60 }, (_, n) =>
      JSON.stringify(sampleEvent(n, at + n)),
    );
    // Long digit runs that are no integer beyond 2^53: a fraction, a safe 16-digit integer,
    // digits in a string, 2^53 - 1, an exponent. They may take the slower parse; the output
    // must not change.
    documents.push(
      '{"id":"d","lat":37.774929500000001,"n":1000000000000000,"s":"12345678901234567890",' +
        '"max":9007199254740991,"neg":-9007199254740991,"e":1.5e300,"f":12345678901234567890.5,' +
        '"g":1E+21,"attributes":{"k":"v"},"metrics":{"m":0.30000000000000004}}',
      '[1,2,"3",{"__proto__":{"a":1}},"\\ud800 é \\u0000 \\"q\\""]',
      '{"dup":1,"dup":12345678901234567890.0}',
    );
    const redshift = tableColumns();
    for (const text of documents) {
      for (const event of decode(text)) {
        const expected = `${JSON.stringify(normalizedDocument(event))}\n`;
        expect(jsonl.encode(event).line).toBe(expected);
        expect(webhookDocument(event)).toBe(expected.trimEnd());
        expect(verbatim.encode(event).line).toBe(`${JSON.stringify(event.original)}\n`);
        const row = checkedCsvRow(redshift, event, {});
        if (!row.ok) throw new Error('row too long');
        expect(row.row.toString()).toContain(
          `"${JSON.stringify(event.original).replaceAll('"', '""')}"`,
        );
      }
      const [first] = decode(text);
      if (first?.format === 'json') expect(first.original).toEqual(JSON.parse(text));
    }
  });
});
