import { describe, expect, it } from 'vitest';
import { userRecord } from './fixtures/samples.js';
import { rawDecoder } from './raw.js';

describe('raw decoder', () => {
  it('passes any bytes through as base64, untouched', () => {
    const bytes = new Uint8Array([0x00, 0xff, 0x7b, 0x0a, 0x80]);
    const record = userRecord(bytes);
    const result = rawDecoder.decode(record);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const [event] = result.events;
    expect(event).toMatchObject({
      id: `${record.shardId}:${record.sequenceNumber}:0`,
      type: 'raw',
      occurred: null,
      format: 'raw',
      appId: null,
      deviceId: null,
      userId: null,
      attributes: {},
      metrics: {},
    });
    expect(Buffer.from(event?.original as string, 'base64')).toEqual(Buffer.from(bytes));
  });

  it('encodes only the view of a record that shares a larger buffer', () => {
    const backing = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const result = rawDecoder.decode(userRecord(backing.subarray(2, 4)));
    expect(result.ok && result.events[0]?.original).toBe(Buffer.from([3, 4]).toString('base64'));
  });

  it('passes JSON through without parsing it', () => {
    const result = rawDecoder.decode(userRecord('{"event_type":"_session.stop"}'));
    expect(result.ok && result.events[0]?.type).toBe('raw');
  });

  it('accepts an empty record', () => {
    const result = rawDecoder.decode(userRecord(new Uint8Array(0)));
    expect(result.ok && result.events[0]?.original).toBe('');
  });
});
