import type { SourceFormat } from '../core/event.js';
import { airshipDecoder } from './airship.js';
import { autoDecoder } from './auto.js';
import type { Decoder } from './decoder.js';
import { guarded } from './guard.js';
import { jsonDecoder } from './json.js';
import { mobileAnalyticsDecoder } from './mobile-analytics.js';
import { mparticleDecoder } from './mparticle.js';
import { pinpointDecoder } from './pinpoint.js';
import { rawDecoder } from './raw.js';

export type { Decoder, DecodeResult } from './decoder.js';
export { csvShapeById, csvShapeFor } from './csv-columns.js';

const DECODERS: Readonly<Record<SourceFormat | 'auto', Decoder>> = {
  auto: autoDecoder,
  pinpoint: pinpointDecoder,
  airship: airshipDecoder,
  mparticle: mparticleDecoder,
  'mobile-analytics': mobileAnalyticsDecoder,
  json: jsonDecoder,
  raw: rawDecoder,
};

/**
 * The decoder for a configured `decode.format`. Decoders are stateless, so one instance
 * can serve every shard.
 */
export function createDecoder(format: SourceFormat | 'auto'): Decoder {
  const decoder = DECODERS[format];
  // Config validation should make this unreachable; a clear message beats a TypeError.
  if (decoder === undefined) throw new Error(`unknown decode format: ${String(format)}`);
  return guarded(decoder);
}
