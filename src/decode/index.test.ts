import { describe, expect, it } from 'vitest';
import { SOURCE_FORMATS } from '../core/event.js';
import type { Decoder } from './decoder.js';
import { guarded } from './guard.js';
import { PINPOINT_APP_EVENT, userRecord } from './fixtures/samples.js';
import { createDecoder, csvShapeFor } from './index.js';

describe('createDecoder', () => {
  it('returns a decoder for every configured format and for auto', () => {
    for (const format of [...SOURCE_FORMATS, 'auto' as const]) {
      expect(createDecoder(format).format).toBe(format);
    }
  });

  it('decodes with the chosen format and exports the CSV resolver', () => {
    const result = createDecoder('pinpoint').decode(userRecord(PINPOINT_APP_EVENT));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const event = result.events[0];
    expect(event?.format).toBe('pinpoint');
    expect(event && csvShapeFor(event)?.id).toBe('generic');
  });

  it('never throws, whatever the bytes, and fails them without needing the guard', () => {
    const inputs = [
      new Uint8Array(0),
      new Uint8Array([0xff, 0xfe, 0x00]),
      new TextEncoder().encode('{"Record":{"Data":null}}'),
      new TextEncoder().encode('{"events":[null],"clientContext":7}'),
      new TextEncoder().encode('{"event_type":"_sms.x","attributes":[]}'),
      new TextEncoder().encode('{"type":1,"occurred":{},"offset":[]}'),
      new TextEncoder().encode('[[[[[[[[[[]]]]]]]]]]'),
      new TextEncoder().encode('1e400'),
    ];
    for (const format of [...SOURCE_FORMATS, 'auto' as const]) {
      const decoder = createDecoder(format);
      for (const data of inputs) {
        const result = decoder.decode(userRecord(data));
        // The guard's message would mean a decoder threw: each must fail on its own terms.
        expect(result.ok ? '' : result.error, format).not.toMatch(/failed unexpectedly/);
      }
    }
  });
});

describe('guarded', () => {
  it('turns an exception inside a decoder into a failure naming the format', () => {
    const broken: Decoder = {
      format: 'json',
      decode: () => {
        throw new Error('boom');
      },
    };
    expect(guarded(broken).decode(userRecord('{}'))).toEqual({
      ok: false,
      error: 'json decoder failed unexpectedly: boom',
    });
  });
});
