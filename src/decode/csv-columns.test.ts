import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { SOURCE_FORMATS, type RelayEvent } from '../core/event.js';
import { AWKWARD_TEXT } from '../core/fixtures/awkward-text.js';
import { sampleEvent } from '../demo/sample-events.js';
import { airshipDecoder } from './airship.js';
import { AIRSHIP_CSV_HEADERS } from './airship-csv-headers.js';
import { GENERIC_HEADER, csvShapeFor, genericShape } from './csv-columns.js';
import type { Decoder } from './decoder.js';
import { createDecoder } from './index.js';
import {
  AIRSHIP_LOCATION,
  AIRSHIP_UNINSTALL,
  MA_BATCH,
  MPARTICLE_MEMBER_ADDED_DATA,
  PINPOINT_SMS_EVENT,
  mparticleEnvelope,
  userRecord,
} from './fixtures/samples.js';
import { jsonDecoder } from './json.js';
import { mobileAnalyticsDecoder } from './mobile-analytics.js';
import { mparticleDecoder } from './mparticle.js';
import { pinpointDecoder } from './pinpoint.js';
import { rawDecoder } from './raw.js';

function decodeOne(decoder: Decoder, doc: unknown): RelayEvent {
  const result = decoder.decode(userRecord(typeof doc === 'string' ? doc : JSON.stringify(doc)));
  if (!result.ok) throw new Error(result.error);
  const [event] = result.events;
  if (event === undefined) throw new Error('no event');
  return event;
}

/** The row of an event as column → value, for readable assertions. */
function row(event: RelayEvent): Record<string, string> {
  const shape = csvShapeFor(event);
  if (shape === null) throw new Error(`no CSV shape for ${event.type}`);
  const values = shape.values(event);
  expect(values).toHaveLength(shape.header.length);
  return Object.fromEntries(shape.header.map((column, i) => [column, values[i] ?? '']));
}

const airship = (doc: object) => decodeOne(airshipDecoder, doc);
const envelope = { offset: '1000059326194', processed: '2020-08-04T22:12:37.672Z' };

describe('Airship CSV shapes', () => {
  it('maps the UNINSTALL sample onto its header', () => {
    const event = airship(AIRSHIP_UNINSTALL);
    expect(csvShapeFor(event)?.id).toBe('airship:UNINSTALL');
    expect(csvShapeFor(event)?.header).toBe(AIRSHIP_CSV_HEADERS['UNINSTALL']);
    expect(row(event)).toEqual({
      ID: 'ff76bb85-74bc-4511-a3bf-11b6117784db',
      TYPE: 'UNINSTALL',
      OCCURRED: '2015-05-03T02:32:12.088Z',
      PROCESSED: '2015-05-03T12:12:43.180Z',
      OFFSET: '1235',
      NAMED_USER_ID: 'named-user-id-123',
      ANDROID_CHANNEL: '',
      IOS_CHANNEL: '',
      AMAZON_CHANNEL: '',
      CHANNEL: '',
      DEVICE_TYPE: '',
    });
  });

  it('reproduces the values of the reference sample LOCATION rows', () => {
    expect(row(airship(AIRSHIP_LOCATION))).toMatchObject({
      ID: '00000000-0000-0000-0000-000000000000',
      TYPE: 'LOCATION',
      OCCURRED: '2015-11-18T01:21:33.180Z',
      IOS_CHANNEL: '90823094-1234-94b2-sb39-099s9018gx55',
      DEVICE_TYPE: 'IOS',
      SESSION: '',
      LATITUDE: '14.5224123',
      LONGITUDE: '-22.1236212',
      FOREGROUND: 'false',
    });
  });

  it('reads the pushes an OPEN refers to from last_delivered and triggering_push', () => {
    const open = airship({
      id: 'e1',
      type: 'OPEN',
      occurred: '2020-08-04T22:12:33.924Z',
      ...envelope,
      device: { channel: 'ch-1', android_channel: 'ch-1', device_type: 'ANDROID' },
      body: {
        last_delivered: {
          push_id: 'p-1',
          group_id: 'g-1',
          variant_id: 2,
          time: '2020-08-04T22:00:00.000Z',
        },
        triggering_push: { push_id: 'p-2', group_id: 'g-2', time: '2020-08-04T22:10:00.000Z' },
        session_id: 's-1',
      },
    });
    expect(row(open)).toMatchObject({
      ANDROID_CHANNEL: 'ch-1',
      CHANNEL: 'ch-1',
      DEVICE_TYPE: 'ANDROID',
      LAST_DELIVERED_PUSH_ID: 'p-1',
      LAST_DELIVERED_GROUP_ID: 'g-1',
      LAST_DELIVERED_VARIANT_ID: '2',
      LAST_DELIVERED_TIME: '2020-08-04T22:00:00.000Z',
      TRIGGERING_PUSH_ID: 'p-2',
      TRIGGERING_GROUP_ID: 'g-2',
      TRIGGERING_VARIANT_ID: '',
      TRIGGERING_TIME: '2020-08-04T22:10:00.000Z',
      SESSION: 's-1',
    });
  });

  it('maps CUSTOM body fields, keeping nested values as JSON text', () => {
    const custom = airship({
      id: 'e2',
      type: 'CUSTOM',
      occurred: '2020-08-04T22:12:33.924Z',
      ...envelope,
      device: { named_user_id: 'nu-1' },
      body: {
        name: 'purchase',
        value: 19.99,
        transaction: 'tx-7',
        interaction_id: 'i-1',
        interaction_type: 'url',
        customer_id: 'cust-3',
        properties: { sku: 'A1' },
      },
    });
    expect(row(custom)).toMatchObject({
      NAMED_USER_ID: 'nu-1',
      NAME: 'purchase',
      VALUE: '19.99',
      TRANSACTION: 'tx-7',
      INTERACTION_ID: 'i-1',
      INTERACTION_TYPE: 'url',
      CUSTOMER_ID: 'cust-3',
    });
  });

  it('fills APP_VERSION and DEVICE_MODEL as two columns from device attributes', () => {
    const tap = airship({
      id: 'e3',
      type: 'IN_APP_BUTTON_TAP',
      occurred: '2020-08-04T22:12:33.924Z',
      ...envelope,
      device: {
        ios_channel: 'ios-1',
        attributes: { app_version: '7.1.0', device_model: 'iPhone14,2', push_opt_in: 'true' },
      },
      body: { button_id: 'buy', group_id: 'g-9', rendered_locale: '{"language":"en"}' },
    });
    expect(row(tap)).toMatchObject({
      APP_VERSION: '7.1.0',
      DEVICE_MODEL: 'iPhone14,2',
      PUSH_OPT_IN: 'true',
      BUTTON_ID: 'buy',
      GROUP_ID: 'g-9',
    });
  });

  it('reads RESOLUTION_TYPE from body.type and the replacing push', () => {
    const expiration = airship({
      id: 'e4',
      type: 'IN_APP_MESSAGE_EXPIRATION',
      occurred: '2020-08-04T22:12:33.924Z',
      ...envelope,
      body: {
        push_id: 'p-3',
        type: 'REPLACED',
        time_expired: '2020-08-05T00:00:00.000Z',
        replacing_push: { push_id: 'p-4', group_id: 'g-4', variant_id: 1, time: 't' },
      },
    });
    expect(row(expiration)).toMatchObject({
      PUSH_ID: 'p-3',
      RESOLUTION_TYPE: 'REPLACED',
      TIME_EXPIRED: '2020-08-05T00:00:00.000Z',
      REPLACING_PUSH_PUSH_ID: 'p-4',
      REPLACING_PUSH_GROUP_ID: 'g-4',
      REPLACING_PUSH_VARIANT_ID: '1',
      REPLACING_PUSH_TIME: 't',
    });
  });

  it('maps PUSH_BODY without device columns', () => {
    const pushBody = airship({
      id: 'e5',
      type: 'PUSH_BODY',
      occurred: '2020-08-04T22:12:33.924Z',
      ...envelope,
      body: {
        push_id: 'p-5',
        payload: 'eyJhdWRpZW5jZSI6ImFsbCJ9',
        trimmed: false,
        resource: 'PIPELINES',
      },
    });
    expect(row(pushBody)).toEqual({
      ID: 'e5',
      TYPE: 'PUSH_BODY',
      OCCURRED: '2020-08-04T22:12:33.924Z',
      PROCESSED: '2020-08-04T22:12:37.672Z',
      OFFSET: '1000059326194',
      PUSH_ID: 'p-5',
      GROUP_ID: '',
      VARIANT_ID: '',
      PAYLOAD: 'eyJhdWRpZW5jZSI6ImFsbCJ9',
      TRIMMED: 'false',
      RESOURCE: 'PIPELINES',
    });
  });

  it('sends TAG_CHANGE to JSON only, as the reference prose says', () => {
    const tagChange = airship({
      ...AIRSHIP_UNINSTALL,
      type: 'TAG_CHANGE',
      body: { add: { g: ['t'] } },
    });
    expect(csvShapeFor(tagChange)).toBeNull();
  });

  it('sends Airship types without a header list to JSON only', () => {
    expect(csvShapeFor(airship({ ...AIRSHIP_UNINSTALL, type: 'ATTRIBUTE_OPERATION' }))).toBeNull();
  });

  it('gives each Airship type its own shape id, so types never share a file', () => {
    const ids = ['OPEN', 'CLOSE', 'SEND'].map(
      (type) => csvShapeFor(airship({ ...AIRSHIP_UNINSTALL, type }))?.id,
    );
    expect(ids).toEqual(['airship:OPEN', 'airship:CLOSE', 'airship:SEND']);
  });
});

describe('generic CSV shape', () => {
  it('flattens a Pinpoint SMS event', () => {
    const event = decodeOne(pinpointDecoder, PINPOINT_SMS_EVENT);
    expect(csvShapeFor(event)?.id).toBe('generic');
    expect(csvShapeFor(event)?.header).toEqual(GENERIC_HEADER);
    const values = row(event);
    expect(values).toMatchObject({
      id: 'uniqueId-68803701520114087975969',
      type: '_SMS.SUCCESS',
      occurred: '1970-01-01T03:43:45.345Z',
      format: 'pinpoint',
      app_id: 'AppKey-688037015201',
      device_id: '',
      user_id: '',
      shard_id: 'shardId-000000000003',
      sequence_number: '49590338271490256608559692538361571095921575989136588898',
      sub_sequence_number: '0',
      arrival_time: '2024-03-01T12:00:00.000Z',
      metrics: '{"price_in_millicents_usd":0}',
    });
    expect(JSON.parse(values['attributes'] ?? '')).toMatchObject({ message_id: '12234sdv' });
  });

  it('is shared by mParticle, Mobile Analytics and generic JSON events', () => {
    const events = [
      decodeOne(mparticleDecoder, mparticleEnvelope(MPARTICLE_MEMBER_ADDED_DATA)),
      decodeOne(mobileAnalyticsDecoder, MA_BATCH),
      decodeOne(jsonDecoder, { type: 'signup' }),
    ];
    expect(events.map((event) => csvShapeFor(event)?.id)).toEqual([
      'generic',
      'generic',
      'generic',
    ]);
    expect(row(events[1] as RelayEvent)['metrics']).toBe('{"Score":12345,"TimeInLevel":64}');
  });

  it('gives raw events no CSV shape', () => {
    expect(csvShapeFor(decodeOne(rawDecoder, 'bytes'))).toBeNull();
  });
});

describe("the generic shape's CSV line", () => {
  /** An event with `text` in every column an event's source can fill. */
  function eventHolding(text: string, n: number): RelayEvent {
    return {
      id: text,
      type: text,
      occurred: text,
      format: SOURCE_FORMATS[n % SOURCE_FORMATS.length] ?? 'json',
      appId: text,
      deviceId: text,
      userId: text,
      attributes: { [text]: text, plain: 'value' },
      metrics: { [text]: n, half: n / 2 },
      original: null,
      record: {
        streamName: text,
        shardId: text,
        sequenceNumber: text,
        subSequenceNumber: n,
        partitionKey: text,
        aggregated: false,
        approximateArrivalTimestamp: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, n)),
        data: new Uint8Array(),
      },
    };
  }

  it('is byte for byte what csv-stringify writes for its values, whatever the columns hold', () => {
    const events = AWKWARD_TEXT.map(eventHolding);
    events.push({
      ...eventHolding('', 1),
      occurred: null,
      appId: null,
      deviceId: null,
      userId: null,
      attributes: {},
      metrics: {},
    });
    for (const event of events) {
      const line = genericShape.csvLine?.(event);
      expect(line).toBe(stringify([genericShape.values(event)]));
    }
  });

  it('is byte for byte what csv-stringify writes for sample events of every format', () => {
    const decoder = createDecoder('auto');
    const at = Date.parse('2026-01-02T03:04:05Z');
    let generic = 0;
    for (let n = 0; n < 200; n += 1) {
      const result = decoder.decode(userRecord(JSON.stringify(sampleEvent(n, at + n))));
      if (!result.ok) throw new Error(result.error);
      for (const event of result.events) {
        const shape = csvShapeFor(event);
        if (shape?.csvLine === undefined) continue;
        generic += 1;
        expect(shape.csvLine(event)).toBe(stringify([shape.values(event)]));
      }
    }
    expect(generic).toBeGreaterThan(100);
  });
});
