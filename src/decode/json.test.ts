import { describe, expect, it } from 'vitest';
import type { DecodeResult } from './decoder.js';
import { userRecord } from './fixtures/samples.js';
import { jsonDecoder } from './json.js';

function events(result: DecodeResult) {
  if (!result.ok) throw new Error(`expected success, got: ${result.error}`);
  return result.events;
}

function error(result: DecodeResult): string {
  if (result.ok) throw new Error('expected a failure');
  return result.error;
}

describe('json decoder', () => {
  it('fills normalized fields from conventional keys', () => {
    const doc = {
      event_id: 'evt-42',
      event_type: 'checkout',
      timestamp: '2024-03-01T13:00:00+01:00',
      app_id: 'shop',
      device_id: 'dev-1',
      user_id: 'user-9',
      attributes: { cart: 'c-1', items: 3 },
      metrics: { total: 99.5, currency: 'EUR' },
      extra: { kept: true },
    };
    const [event] = events(jsonDecoder.decode(userRecord(doc)));
    expect(event).toMatchObject({
      id: 'evt-42',
      type: 'checkout',
      occurred: '2024-03-01T12:00:00.000Z',
      format: 'json',
      appId: 'shop',
      deviceId: 'dev-1',
      userId: 'user-9',
      attributes: { cart: 'c-1', items: '3' },
      metrics: { total: 99.5 },
    });
    expect(event?.original).toEqual(doc);
  });

  it('reads numeric times as epoch seconds or milliseconds by size', () => {
    const seconds = events(jsonDecoder.decode(userRecord({ time: 1709294400 })));
    const millis = events(jsonDecoder.decode(userRecord({ time: 1709294400000 })));
    expect(seconds[0]?.occurred).toBe('2024-03-01T12:00:00.000Z');
    expect(millis[0]?.occurred).toBe('2024-03-01T12:00:00.000Z');
  });

  it('leaves occurred null when the time is unreadable', () => {
    const [event] = events(jsonDecoder.decode(userRecord({ timestamp: 'soon' })));
    expect(event?.occurred).toBeNull();
  });

  it('derives id and type for a document without them', () => {
    const record = userRecord({ hello: 'world' }, { subSequenceNumber: 2 });
    const [event] = events(jsonDecoder.decode(record));
    expect(event?.id).toBe(`${record.shardId}:${record.sequenceNumber}:2`);
    expect(event?.type).toBe('json');
  });

  it('accepts any JSON value, not only objects', () => {
    for (const value of [[1, 2], 'text', 42, true, null]) {
      const [event] = events(jsonDecoder.decode(userRecord(JSON.stringify(value))));
      expect(event?.original).toEqual(value);
      expect(event?.type).toBe('json');
    }
  });

  it('strips a UTF-8 byte order mark', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('{"type":"t"}')]);
    expect(events(jsonDecoder.decode(userRecord(bytes)))[0]?.type).toBe('t');
  });

  it('fails bytes that are not JSON', () => {
    expect(error(jsonDecoder.decode(userRecord('type=checkout')))).toMatch(/^not JSON: /);
  });

  it('fails an empty record', () => {
    expect(error(jsonDecoder.decode(userRecord(new Uint8Array(0))))).toBe(
      'not JSON: the record is empty',
    );
  });

  it('fails bytes that are not UTF-8', () => {
    expect(error(jsonDecoder.decode(userRecord(new Uint8Array([0x7b, 0xff, 0x7d]))))).toBe(
      'not JSON: the record is not valid UTF-8',
    );
  });
});
