import { describe, expect, it } from 'vitest';
import { autoDecoder } from './auto.js';
import type { DecodeResult } from './decoder.js';
import {
  AIRSHIP_UNINSTALL,
  MA_BATCH,
  MA_LEVEL_COMPLETE,
  MPARTICLE_MEMBER_ADDED_DATA,
  PINPOINT_APP_EVENT,
  PINPOINT_SMS_EVENT,
  mparticleEnvelope,
  userRecord,
} from './fixtures/samples.js';

function events(result: DecodeResult) {
  if (!result.ok) throw new Error(`expected success, got: ${result.error}`);
  return result.events;
}

function error(result: DecodeResult): string {
  if (result.ok) throw new Error('expected a failure');
  return result.error;
}

const detect = (doc: unknown) =>
  events(autoDecoder.decode(userRecord(JSON.stringify(doc)))).map((event) => event.format);

describe('auto decoder', () => {
  it('recognizes each reference sample by its shape', () => {
    expect(detect(PINPOINT_APP_EVENT)).toEqual(['pinpoint']);
    expect(detect(PINPOINT_SMS_EVENT)).toEqual(['pinpoint']);
    expect(detect(AIRSHIP_UNINSTALL)).toEqual(['airship']);
    expect(detect(mparticleEnvelope(MPARTICLE_MEMBER_ADDED_DATA))).toEqual(['mparticle']);
    expect(detect(MA_BATCH)).toEqual(['mobile-analytics', 'mobile-analytics']);
    expect(detect(MA_LEVEL_COMPLETE)).toEqual(['mobile-analytics']);
  });

  it('falls back to generic JSON for documents no format claims', () => {
    expect(detect({ type: 'signup', occurred: '2024-03-01T12:00:00Z' })).toEqual(['json']);
    expect(detect({ event_type: 'click' })).toEqual(['json']);
    expect(detect({ events: ['a', 'b'] })).toEqual(['json']);
    expect(detect([PINPOINT_APP_EVENT])).toEqual(['json']);
    expect(detect('just a string')).toEqual(['json']);
  });

  it('fails a record that claims a format but breaks it, instead of falling back', () => {
    const brokenPinpoint = { ...PINPOINT_APP_EVENT, application: {} };
    expect(error(autoDecoder.decode(userRecord(brokenPinpoint)))).toMatch(
      /^pinpoint: application\.app_id: /,
    );
    const brokenAirship = { ...AIRSHIP_UNINSTALL, occurred: 'yesterday' };
    expect(error(autoDecoder.decode(userRecord(brokenAirship)))).toBe(
      'airship: occurred: expected an ISO-8601 date-time',
    );
    const brokenBatch = { events: [{ ...MA_LEVEL_COMPLETE, version: '2.0' }] };
    expect(error(autoDecoder.decode(userRecord(brokenBatch)))).toBe(
      'mobile-analytics: events[0].version: version must be "v2.0"',
    );
    const brokenEnvelope = { Record: { Data: 'not base64!' } };
    expect(error(autoDecoder.decode(userRecord(brokenEnvelope)))).toBe(
      'mparticle: Record.Data is not valid base64',
    );
  });

  it('fails bytes that are not JSON rather than passing them through', () => {
    expect(error(autoDecoder.decode(userRecord('\u0000\u0001binary')))).toMatch(/^not JSON: /);
    expect(error(autoDecoder.decode(userRecord(new Uint8Array([0xc3, 0x28]))))).toBe(
      'not JSON: the record is not valid UTF-8',
    );
  });

  it('prefers the envelope formats when a document matches several claims', () => {
    // A Firehose envelope around Pinpoint-looking keys is still an envelope.
    const doc = {
      ...(mparticleEnvelope(MPARTICLE_MEMBER_ADDED_DATA) as object),
      event_type: 'x',
      application: {},
    };
    expect(detect(doc)).toEqual(['mparticle']);
  });
});
