import type { UserRecord } from '../core/record.js';
import type { Decoder, DecodeResult } from './decoder.js';
import { positionId, type PositionIds } from './record-id.js';

/**
 * Passes bytes through untouched: never parses, never fails. Only chosen explicitly,
 * because `auto` must not turn a broken record of a known format into a silent success.
 */
export function rawDecoderWith(ids: PositionIds): Decoder {
  return {
    format: 'raw',
    decode: (record) => rawEvent(record, ids),
  };
}

/** With one stream's position ids. */
export const rawDecoder: Decoder = rawDecoderWith(positionId);

function rawEvent(record: UserRecord, ids: PositionIds): DecodeResult {
  const data = record.data;
  // A view over the same memory: no copy of the bytes before base64 encoding.
  const base64 = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  return {
    ok: true,
    events: [
      {
        id: ids(record),
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
}
