import type { UserRecord } from '../core/record.js';
import type { Decoder, DecodeResult } from './decoder.js';
import { positionId } from './record-id.js';

/**
 * Passes bytes through untouched: never parses, never fails. Only chosen explicitly,
 * because `auto` must not turn a broken record of a known format into a silent success.
 */
export const rawDecoder: Decoder = {
  format: 'raw',
  decode(record: UserRecord): DecodeResult {
    const data = record.data;
    // A view over the same memory: no copy of the bytes before base64 encoding.
    const base64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    return {
      ok: true,
      events: [
        {
          id: positionId(record),
          type: 'raw',
          // The bytes do not say when anything happened; arrival time is on `record`.
          occurred: null,
          format: 'raw',
          appId: null,
          deviceId: null,
          userId: null,
          attributes: {},
          metrics: {},
          original: base64,
          record,
        },
      ],
    };
  },
};
