import { describe, expect, it } from 'vitest';
import type { DecodeResult } from './decoder.js';
import {
  PINPOINT_APP_EVENT,
  PINPOINT_EMAIL_EVENT,
  PINPOINT_SMS_EVENT,
  userRecord,
} from './fixtures/samples.js';
import { autoDecoder } from './auto.js';
import { claimsPinpoint, pinpointDecoder } from './pinpoint.js';

function events(result: DecodeResult) {
  if (!result.ok) throw new Error(`expected success, got: ${result.error}`);
  return result.events;
}

function error(result: DecodeResult): string {
  if (result.ok) throw new Error('expected a failure');
  return result.error;
}

describe('pinpoint decoder', () => {
  it('decodes the reference app event', () => {
    const record = userRecord(PINPOINT_APP_EVENT);
    const [event] = events(pinpointDecoder.decode(record));
    expect(event).toMatchObject({
      id: `${record.shardId}:${record.sequenceNumber}:0`,
      type: '_session.stop',
      occurred: '2017-02-24T22:03:22.507Z',
      format: 'pinpoint',
      appId: 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6',
      deviceId: 'm3n4o5p6-a1b2-c3d4-e5f6-g7h8i9j0k1l2',
      userId: 'us-east-1:i9j0k1l2-m3n4-o5p6-a1b2-c3d4e5f6g7h8',
      attributes: {},
      metrics: {},
    });
    expect(event?.original).toEqual(PINPOINT_APP_EVENT);
    expect(event?.record).toBe(record);
  });

  it('decodes the reference email event with the app shape', () => {
    const [event] = events(pinpointDecoder.decode(userRecord(PINPOINT_EMAIL_EVENT)));
    expect(event?.type).toBe('_email.delivered');
    expect(event?.appId).toBe('a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6');
  });

  it('decodes the reference SMS event with its own shape and id', () => {
    const [event] = events(pinpointDecoder.decode(userRecord(PINPOINT_SMS_EVENT)));
    expect(event).toMatchObject({
      id: 'uniqueId-68803701520114087975969',
      type: '_SMS.SUCCESS',
      // The reference's sample timestamp (13425345 ms) really is early 1970.
      occurred: '1970-01-01T03:43:45.345Z',
      appId: 'AppKey-688037015201',
      deviceId: null,
      userId: null,
      metrics: { price_in_millicents_usd: 0 },
    });
    expect(event?.attributes).toMatchObject({
      message_id: '12234sdv',
      number_of_message_parts: '1',
      record_status: 'SUCCESS',
      iso_country_code: 'US',
    });
  });

  it('matches the SMS prefix case-insensitively, as the type list spells it', () => {
    const lower = { ...PINPOINT_SMS_EVENT, event_type: '_sms.optout' };
    const [event] = events(pinpointDecoder.decode(userRecord(lower)));
    expect(event?.id).toBe('uniqueId-68803701520114087975969');
  });

  it('an SMS-typed event in the app event shape is decoded, not dead-lettered', () => {
    // pinpoint-event-streaming.md: its "Event" attribute table (event_type, event_timestamp,
    // application, client ...) describes every event, and its SMS type list names
    // `_sms.success`; Pinpoint streams SMS events in that shape too, with no
    // application_key or timestamp. Only the legacy SMS example has those.
    for (const type of ['_sms.success', '_SMS.SUCCESS']) {
      const doc = { ...PINPOINT_APP_EVENT, event_type: type };
      const record = userRecord(doc);
      for (const decoder of [pinpointDecoder, autoDecoder]) {
        const [event] = events(decoder.decode(record));
        expect(event).toMatchObject({
          id: `${record.shardId}:${record.sequenceNumber}:0`,
          type,
          occurred: '2017-02-24T22:03:22.507Z',
          format: 'pinpoint',
          appId: 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6',
          deviceId: 'm3n4o5p6-a1b2-c3d4-e5f6-g7h8i9j0k1l2',
          userId: 'us-east-1:i9j0k1l2-m3n4-o5p6-a1b2-c3d4e5f6g7h8',
        });
      }
    }
  });

  it('derives the id from the record position when an SMS event has no unique_id', () => {
    const { unique_id: _dropped, ...withoutId } = PINPOINT_SMS_EVENT;
    const record = userRecord(withoutId, { subSequenceNumber: 4 });
    const [event] = events(pinpointDecoder.decode(record));
    expect(event?.id).toBe(`${record.shardId}:${record.sequenceNumber}:4`);
  });

  it('keeps custom attributes as strings and metrics as numbers', () => {
    const doc = {
      ...PINPOINT_APP_EVENT,
      event_type: 'LevelComplete',
      attributes: { level: 'Level1', stars: 3, bonus: true },
      metrics: { score: 12345.5 },
    };
    const [event] = events(pinpointDecoder.decode(userRecord(doc)));
    expect(event?.attributes).toEqual({ level: 'Level1', stars: '3', bonus: 'true' });
    expect(event?.metrics).toEqual({ score: 12345.5 });
  });

  it('accepts epoch milliseconds given as a string of digits', () => {
    const doc = { ...PINPOINT_APP_EVENT, event_timestamp: '1487973802507' };
    const [event] = events(pinpointDecoder.decode(userRecord(doc)));
    expect(event?.occurred).toBe('2017-02-24T22:03:22.507Z');
  });

  it('fails an app event without application.app_id, naming the field', () => {
    const doc = { ...PINPOINT_APP_EVENT, application: { title: 'title' } };
    expect(error(pinpointDecoder.decode(userRecord(doc)))).toMatch(
      /^pinpoint: application\.app_id: /,
    );
  });

  it('fails an app event whose event_timestamp is not epoch milliseconds', () => {
    const doc = { ...PINPOINT_APP_EVENT, event_timestamp: '2017-02-24T22:03:22Z' };
    expect(error(pinpointDecoder.decode(userRecord(doc)))).toBe(
      'pinpoint: event_timestamp: expected epoch milliseconds (a number or a string of digits)',
    );
  });

  it('fails an event_timestamp beyond the Date range instead of delivering occurred: null', () => {
    // pinpoint-event-streaming.md: event_timestamp is "Unix time in milliseconds"; 1e17 ms
    // (year ~3.2 million) is no such time, and was accepted with its time silently lost.
    for (const stamp of [1e17, '100000000000000000']) {
      const doc = { ...PINPOINT_APP_EVENT, event_timestamp: stamp };
      expect(error(pinpointDecoder.decode(userRecord(doc)))).toBe(
        'pinpoint: event_timestamp: expected epoch milliseconds within the Date range',
      );
    }
    const sms = { ...PINPOINT_SMS_EVENT, timestamp: 1e17 };
    expect(error(pinpointDecoder.decode(userRecord(sms)))).toBe(
      'pinpoint (SMS event): timestamp: expected epoch milliseconds within the Date range',
    );
    // The last millisecond Date holds is still a time.
    const last = { ...PINPOINT_APP_EVENT, event_timestamp: 8.64e15 };
    expect(events(pinpointDecoder.decode(userRecord(last)))[0]?.occurred).toBe(
      '+275760-09-13T00:00:00.000Z',
    );
  });

  it('fails an app event without event_timestamp as required', () => {
    const { event_timestamp: _dropped, ...doc } = PINPOINT_APP_EVENT;
    expect(error(pinpointDecoder.decode(userRecord(doc)))).toBe(
      'pinpoint: event_timestamp: required',
    );
  });

  it('fails non-numeric metrics', () => {
    const doc = { ...PINPOINT_APP_EVENT, metrics: { score: 'high' } };
    expect(error(pinpointDecoder.decode(userRecord(doc)))).toMatch(/^pinpoint: metrics\.score: /);
  });

  it('fails an SMS event without application_key', () => {
    const { application_key: _dropped, ...doc } = PINPOINT_SMS_EVENT;
    expect(error(pinpointDecoder.decode(userRecord(doc)))).toMatch(
      /^pinpoint \(SMS event\): application_key: /,
    );
  });

  it('fails a document that is not an object', () => {
    expect(error(pinpointDecoder.decode(userRecord([PINPOINT_APP_EVENT])))).toBe(
      'pinpoint: expected an event object, got an array',
    );
  });

  it('fails bytes that are not JSON', () => {
    expect(error(pinpointDecoder.decode(userRecord('event_type=_session.stop')))).toMatch(
      /^not JSON: /,
    );
  });

  it('is claimed by its envelope keys, not by event_type alone', () => {
    expect(claimsPinpoint(PINPOINT_APP_EVENT)).toBe(true);
    expect(claimsPinpoint(PINPOINT_SMS_EVENT)).toBe(true);
    expect(claimsPinpoint({ event_type: '_sms.send' })).toBe(true);
    expect(claimsPinpoint({ event_type: 'signup', user: 'u1' })).toBe(false);
    expect(claimsPinpoint({ application: {} })).toBe(false);
  });
});
