import type { JsonValue } from '../core/event.js';
import type { UserRecord } from '../core/record.js';
import { claimsAirship, decodeAirshipValue } from './airship.js';
import type { Decoder, DecodeResult } from './decoder.js';
import { decodeJsonValue } from './json.js';
import { claimsMobileAnalytics, decodeMobileAnalyticsValue } from './mobile-analytics.js';
import { claimsMparticle, decodeMparticleValue } from './mparticle.js';
import { parseJsonBytes } from './parse-json.js';
import { positionId, type PositionIds } from './record-id.js';
import { claimsPinpoint, decodePinpointValue } from './pinpoint.js';
import type { ValueDecoder } from './value-decoder.js';
import { isJsonObject, type JsonObject } from './values.js';

/*
 * `auto` parses a record once and asks each known format, in this order, whether the
 * document claims to be one of its own (cheap key checks, no validation). The first
 * claimant decodes it, and if the document then breaks that format the record fails
 * — it is not quietly passed on as generic JSON, which would hide a broken producer.
 * Documents no format claims are generic JSON. The order puts the most distinctive
 * shapes first: a Firehose envelope or an `events` batch cannot be mistaken for the
 * flat event objects of Pinpoint and Airship.
 */
const CLAIMS: ReadonlyArray<readonly [(doc: JsonObject) => boolean, ValueDecoder]> = [
  [claimsMparticle, decodeMparticleValue],
  [claimsMobileAnalytics, decodeMobileAnalyticsValue],
  [claimsPinpoint, decodePinpointValue],
  [claimsAirship, decodeAirshipValue],
];

/** The decoder a document's shape selects (generic JSON when no format claims it). */
export function detectFormat(value: JsonValue): ValueDecoder {
  if (isJsonObject(value)) {
    for (const [claims, decode] of CLAIMS) {
      if (claims(value)) return decode;
    }
  }
  return decodeJsonValue;
}

export function autoDecoderWith(ids: PositionIds): Decoder {
  return {
    format: 'auto',
    decode(record: UserRecord): DecodeResult {
      const parsed = parseJsonBytes(record.data);
      if (!parsed.ok) return parsed;
      return detectFormat(parsed.value)(parsed.value, record, ids);
    },
  };
}

/** With one stream's position ids. */
export const autoDecoder: Decoder = autoDecoderWith(positionId);
