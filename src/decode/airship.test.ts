import { describe, expect, it } from 'vitest';
import { airshipDecoder, claimsAirship } from './airship.js';
import { csvShapeFor } from './csv-columns.js';
import type { DecodeResult } from './decoder.js';
import { AIRSHIP_LOCATION, AIRSHIP_UNINSTALL, userRecord } from './fixtures/samples.js';

function events(result: DecodeResult) {
  if (!result.ok) throw new Error(`expected success, got: ${result.error}`);
  return result.events;
}

function error(result: DecodeResult): string {
  if (result.ok) throw new Error('expected a failure');
  return result.error;
}

describe('airship decoder', () => {
  it('decodes the reference UNINSTALL event, keeping its own id', () => {
    const [event] = events(airshipDecoder.decode(userRecord(AIRSHIP_UNINSTALL)));
    expect(event).toMatchObject({
      id: 'ff76bb85-74bc-4511-a3bf-11b6117784db',
      type: 'UNINSTALL',
      occurred: '2015-05-03T02:32:12.088Z',
      format: 'airship',
      appId: null,
      deviceId: null,
      userId: 'named-user-id-123',
      attributes: {},
      metrics: {},
    });
    expect(event?.original).toEqual(AIRSHIP_UNINSTALL);
  });

  it('a numeric offset beyond 2^53 is decoded with its exact digits, not dead-lettered', () => {
    // airship-rtds-aws-s3-kinesis.txt: the UNINSTALL example sends "offset": 1235, a JSON
    // number; JSON.parse rounds one beyond 2^53 (12345678901234567891 to ...67000).
    const text = JSON.stringify(AIRSHIP_UNINSTALL).replace(
      '"offset":1235',
      '"offset":12345678901234567891',
    );
    expect(text).toContain('12345678901234567891');
    const [event] = events(airshipDecoder.decode(userRecord(text)));
    expect(event).toMatchObject({ id: AIRSHIP_UNINSTALL.id, userId: 'named-user-id-123' });
    // The CSV OFFSET column and the JSON output read the original: the number as sent.
    expect(event?.original).toEqual({ ...AIRSHIP_UNINSTALL, offset: 12345678901234567891n });
    const row = csvShapeFor(event!)?.values(event!);
    expect(row?.[4]).toBe('12345678901234567891');
  });

  it('takes the device id from the channel and the body as attributes and metrics', () => {
    const [event] = events(airshipDecoder.decode(userRecord(AIRSHIP_LOCATION)));
    expect(event?.deviceId).toBe('90823094-1234-94b2-sb39-099s9018gx55');
    expect(event?.attributes).toEqual({
      latitude: '14.5224123',
      longitude: '-22.1236212',
      foreground: 'false',
    });
    expect(event?.metrics).toEqual({ latitude: 14.5224123, longitude: -22.1236212 });
  });

  it('falls back to the platform channel when `channel` is absent', () => {
    const doc = { ...AIRSHIP_UNINSTALL, device: { android_channel: 'android-channel-1' } };
    const [event] = events(airshipDecoder.decode(userRecord(doc)));
    expect(event?.deviceId).toBe('android-channel-1');
  });

  it('normalizes an occurred time with an offset to UTC', () => {
    const doc = { ...AIRSHIP_UNINSTALL, occurred: '2015-05-03T04:32:12.088+02:00' };
    const [event] = events(airshipDecoder.decode(userRecord(doc)));
    expect(event?.occurred).toBe('2015-05-03T02:32:12.088Z');
  });

  it('reads offset as a string, as Airship documents it', () => {
    const doc = { ...AIRSHIP_UNINSTALL, offset: '1000059326194' };
    expect(events(airshipDecoder.decode(userRecord(doc)))).toHaveLength(1);
  });

  it('fails an event without an id', () => {
    const { id: _dropped, ...doc } = AIRSHIP_UNINSTALL;
    expect(error(airshipDecoder.decode(userRecord(doc)))).toMatch(/^airship: id: /);
  });

  it('fails an occurred time that is not ISO-8601', () => {
    const doc = { ...AIRSHIP_UNINSTALL, occurred: '05/03/2015 02:32' };
    expect(error(airshipDecoder.decode(userRecord(doc)))).toBe(
      'airship: occurred: expected an ISO-8601 date-time',
    );
  });

  it('fails an event without processed as required', () => {
    const { processed: _dropped, ...doc } = AIRSHIP_UNINSTALL;
    expect(error(airshipDecoder.decode(userRecord(doc)))).toBe('airship: processed: required');
  });

  it('fails an offset that is not a decimal number', () => {
    const doc = { ...AIRSHIP_UNINSTALL, offset: 'next' };
    expect(error(airshipDecoder.decode(userRecord(doc)))).toBe(
      'airship: offset: expected a decimal offset',
    );
  });

  it('fails a body that is not an object', () => {
    const doc = { ...AIRSHIP_UNINSTALL, body: 'uninstalled' };
    expect(error(airshipDecoder.decode(userRecord(doc)))).toBe('airship: body: expected an object');
  });

  it('names up to three problems and counts the rest', () => {
    const doc = { id: 1, type: 2, occurred: 3, processed: 4, offset: 'x' };
    expect(error(airshipDecoder.decode(userRecord(doc)))).toMatch(
      /^airship: id: .*\(and 2 more\)$/,
    );
  });

  it('is claimed by type and occurred plus offset or processed', () => {
    expect(claimsAirship(AIRSHIP_UNINSTALL)).toBe(true);
    expect(claimsAirship({ type: 'x', occurred: 'y', processed: 'z' })).toBe(true);
    expect(claimsAirship({ type: 'signup', occurred: '2015-05-03T02:32:12.088Z' })).toBe(false);
  });
});
