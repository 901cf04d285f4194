import { describe, expect, it } from 'vitest';
import type { DecodeResult } from './decoder.js';
import { MA_BATCH, MA_CLIENT_CONTEXT, MA_LEVEL_COMPLETE, userRecord } from './fixtures/samples.js';
import { claimsMobileAnalytics, mobileAnalyticsDecoder } from './mobile-analytics.js';

function events(result: DecodeResult) {
  if (!result.ok) throw new Error(`expected success, got: ${result.error}`);
  return result.events;
}

function error(result: DecodeResult): string {
  if (result.ok) throw new Error('expected a failure');
  return result.error;
}

const decode = (doc: unknown) => mobileAnalyticsDecoder.decode(userRecord(JSON.stringify(doc)));
const withEvent = (patch: Record<string, unknown>) => ({
  clientContext: MA_CLIENT_CONTEXT,
  events: [{ ...MA_LEVEL_COMPLETE, ...patch }],
});

describe('mobile-analytics decoder', () => {
  it('turns a PutEvents batch into one event per element with indexed ids', () => {
    const record = userRecord(MA_BATCH);
    const decoded = events(mobileAnalyticsDecoder.decode(record));
    const base = `${record.shardId}:${record.sequenceNumber}:0`;
    expect(decoded.map((event) => event.id)).toEqual([`${base}:0`, `${base}:1`]);
    expect(decoded.map((event) => event.type)).toEqual(['LevelComplete', '_session.stop']);
    expect(decoded[0]).toMatchObject({
      occurred: '2014-06-30T19:07:47.885Z',
      format: 'mobile-analytics',
      appId: 'ma-app-0123456789',
      deviceId: 'c0ffee00-0000-4000-8000-000000000001',
      userId: null,
      attributes: { LevelName: 'Level1', CharacterClass: 'Warrior', Successful: 'True' },
      metrics: { Score: 12345, TimeInLevel: 64 },
    });
  });

  it('gives each event a one-event PutEvents document as its original', () => {
    const [first] = events(mobileAnalyticsDecoder.decode(userRecord(MA_BATCH)));
    expect(first?.original).toEqual({
      clientContext: MA_CLIENT_CONTEXT,
      events: [MA_LEVEL_COMPLETE],
    });
  });

  it('decodes the reference JSON example (a batch without client context)', () => {
    const [event] = events(decode({ events: [MA_LEVEL_COMPLETE] }));
    expect(event).toMatchObject({ type: 'LevelComplete', appId: null, deviceId: null });
    expect(event?.original).toEqual({ events: [MA_LEVEL_COMPLETE] });
  });

  it('decodes a single bare event with an id that has no batch index', () => {
    const record = userRecord(MA_LEVEL_COMPLETE);
    const [event] = events(mobileAnalyticsDecoder.decode(record));
    expect(event?.id).toBe(`${record.shardId}:${record.sequenceNumber}:0`);
    expect(event?.original).toEqual(MA_LEVEL_COMPLETE);
  });

  it('accepts the 50-character key and 200-character value limits exactly', () => {
    const attributes = { ['k'.repeat(50)]: 'v'.repeat(200) };
    expect(events(decode(withEvent({ attributes })))).toHaveLength(1);
  });

  it('counts characters, not UTF-16 units, against the limits', () => {
    const attributes = { label: '😀'.repeat(200) };
    expect(events(decode(withEvent({ attributes })))).toHaveLength(1);
  });

  it('fails a version other than v2.0', () => {
    expect(error(decode(withEvent({ version: 'v1.0' })))).toBe(
      'mobile-analytics: events[0].version: version must be "v2.0"',
    );
  });

  it('fails an attribute key longer than 50 characters', () => {
    const key = 'k'.repeat(51);
    expect(error(decode(withEvent({ attributes: { [key]: 'v' } })))).toBe(
      `mobile-analytics: events[0].attributes.${key}: keys are at most 50 characters`,
    );
  });

  it('fails an attribute value longer than 200 characters', () => {
    expect(error(decode(withEvent({ attributes: { LevelName: 'x'.repeat(201) } })))).toBe(
      'mobile-analytics: events[0].attributes.LevelName: values are at most 200 characters',
    );
  });

  it('fails a metric key longer than 50 characters and a non-numeric metric', () => {
    const key = 'm'.repeat(51);
    expect(error(decode(withEvent({ metrics: { [key]: 1, Score: '12' } })))).toBe(
      `mobile-analytics: events[0].metrics.${key}: keys are at most 50 characters; ` +
        'events[0].metrics.Score: expected a numeric value',
    );
  });

  it('a metric too large for a number (1e400) fails instead of being dropped silently', () => {
    // mobile-analytics-put-events.txt: metrics are "JSON object of key value pairs
    // (String:Number)"; JSON.parse makes 1e400 Infinity, which no metric map can hold.
    const text = JSON.stringify(withEvent({})).replace('"Score":12345', '"Score":1e400');
    expect(text).toContain('1e400');
    expect(error(mobileAnalyticsDecoder.decode(userRecord(text)))).toBe(
      'mobile-analytics: events[0].metrics.Score: expected a numeric value',
    );
  });

  it('fails a non-string attribute value', () => {
    expect(error(decode(withEvent({ attributes: { Successful: true } })))).toBe(
      'mobile-analytics: events[0].attributes.Successful: expected a string value',
    );
  });

  it('fails a custom event with more than 40 attributes and metrics', () => {
    const attributes = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`a${i}`, 'v']));
    const metrics = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`m${i}`, i]));
    expect(error(decode(withEvent({ attributes, metrics })))).toBe(
      'mobile-analytics: events[0]: a custom event has at most 40 attributes and metrics, got 41',
    );
  });

  it('does not apply the 40-field limit to standard (_-prefixed) events', () => {
    const attributes = Object.fromEntries(Array.from({ length: 41 }, (_, i) => [`a${i}`, 'v']));
    expect(events(decode(withEvent({ eventType: '_session.start', attributes })))).toHaveLength(1);
  });

  it('fails a timestamp that is not ISO-8601', () => {
    expect(error(decode(withEvent({ timestamp: 1404155267885 })))).toMatch(
      /^mobile-analytics: events\[0\]\.timestamp: /,
    );
  });

  it('fails a session without startTimestamp', () => {
    expect(error(decode(withEvent({ session: { id: 's-1' } })))).toBe(
      'mobile-analytics: events[0].session.startTimestamp: required',
    );
  });

  it('fails an empty batch', () => {
    expect(error(decode({ clientContext: MA_CLIENT_CONTEXT, events: [] }))).toBe(
      'mobile-analytics: events: a PutEvents batch holds at least one event',
    );
  });

  it('fails a client context without the required app_id', () => {
    const clientContext = { ...MA_CLIENT_CONTEXT, services: { mobile_analytics: {} } };
    expect(error(decode({ clientContext, events: [MA_LEVEL_COMPLETE] }))).toMatch(
      /^mobile-analytics: clientContext\.services\.mobile_analytics\.app_id: /,
    );
  });

  it('fails a platform outside the documented values, ignoring case otherwise', () => {
    const env = (platform: string) => ({ ...MA_CLIENT_CONTEXT, env: { platform } });
    expect(
      events(decode({ clientContext: env('iPhoneOS'), events: [MA_LEVEL_COMPLETE] })),
    ).toHaveLength(1);
    expect(error(decode({ clientContext: env('beos'), events: [MA_LEVEL_COMPLETE] }))).toMatch(
      /^mobile-analytics: clientContext\.env\.platform: platform must be one of iphoneos, android/,
    );
  });

  it('fails a payload above 1024 KB', () => {
    const attributes = { LevelName: 'x'.repeat(200) };
    const many = Array.from({ length: 5000 }, () => ({ ...MA_LEVEL_COMPLETE, attributes }));
    const record = userRecord({ events: many });
    expect(record.data.byteLength).toBeGreaterThan(1024 * 1024);
    expect(error(mobileAnalyticsDecoder.decode(record))).toMatch(
      /^mobile-analytics: payload is \d+ bytes; PutEvents allows at most 1024 KB$/,
    );
  });

  it('is claimed by an events batch or by a single event with version or session', () => {
    expect(claimsMobileAnalytics(MA_BATCH)).toBe(true);
    expect(claimsMobileAnalytics({ clientContext: {}, events: [] })).toBe(true);
    expect(claimsMobileAnalytics({ events: [{ eventType: 'x' }] })).toBe(true);
    expect(claimsMobileAnalytics(MA_LEVEL_COMPLETE)).toBe(true);
    expect(claimsMobileAnalytics({ events: [1, 2] })).toBe(false);
    expect(claimsMobileAnalytics({ eventType: 'click', page: '/' })).toBe(false);
  });
});
