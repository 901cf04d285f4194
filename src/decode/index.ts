import type { SourceFormat } from '../core/event.js';
import { decodeAirshipValue } from './airship.js';
import { autoDecoderWith } from './auto.js';
import type { Decoder } from './decoder.js';
import { guarded } from './guard.js';
import { decodeJsonValue } from './json.js';
import { decodeMobileAnalyticsValue } from './mobile-analytics.js';
import { decodeMparticleValue } from './mparticle.js';
import { decodePinpointValue } from './pinpoint.js';
import { rawDecoderWith } from './raw.js';
import { positionIds, type PositionIds } from './record-id.js';
import { jsonFormatDecoder } from './value-decoder.js';

export type { Decoder, DecodeResult } from './decoder.js';
export { csvShapeById, csvShapeFor } from './csv-columns.js';

const DECODERS: Readonly<Record<SourceFormat | 'auto', (ids: PositionIds) => Decoder>> = {
  auto: autoDecoderWith,
  pinpoint: (ids) => jsonFormatDecoder('pinpoint', decodePinpointValue, ids),
  airship: (ids) => jsonFormatDecoder('airship', decodeAirshipValue, ids),
  mparticle: (ids) => jsonFormatDecoder('mparticle', decodeMparticleValue, ids),
  'mobile-analytics': (ids) =>
    jsonFormatDecoder('mobile-analytics', decodeMobileAnalyticsValue, ids),
  json: (ids) => jsonFormatDecoder('json', decodeJsonValue, ids),
  raw: rawDecoderWith,
};

export interface DecoderOptions {
  /**
   * Whether the id of an event whose source has none names its stream (see
   * streamPositionId): true when the relay reads more than one stream, whose shard ids and
   * sequence numbers repeat from one stream to the next. False keeps the one-stream ids
   * exactly as they always were.
   */
  readonly streamInIds: boolean;
}

/**
 * The decoder for a configured `decode.format`. Decoders are stateless, so one instance
 * can serve every shard.
 */
export function createDecoder(
  format: SourceFormat | 'auto',
  options: DecoderOptions = { streamInIds: false },
): Decoder {
  const make = DECODERS[format];
  // Config validation should make this unreachable; a clear message beats a TypeError.
  if (make === undefined) throw new Error(`unknown decode format: ${String(format)}`);
  return guarded(make(positionIds(options.streamInIds)));
}
