import type { CsvShape, CsvShapeResolver } from '../core/csv-shape.js';
import { csvCell, csvJsonObjectCell } from '../core/csv-text.js';
import type { RelayEvent } from '../core/event.js';
import { jsonText } from '../core/json-text.js';
import { AIRSHIP_CSV_HEADERS } from './airship-csv-headers.js';
import { columnReader } from './airship-csv-values.js';
import { dateToIso } from './values.js';

/**
 * The one flattened column set of every format without header lists of its own
 * (Pinpoint, mParticle, Mobile Analytics, generic JSON). Format-specific fields stay
 * reachable through `attributes` and `metrics` (JSON objects) and the JSON output.
 */
export const GENERIC_HEADER = [
  'id',
  'type',
  'occurred',
  'format',
  'app_id',
  'device_id',
  'user_id',
  'shard_id',
  'sequence_number',
  'sub_sequence_number',
  'arrival_time',
  'attributes',
  'metrics',
] as const;

export const genericShape: CsvShape = {
  id: 'generic',
  header: GENERIC_HEADER,
  values(event: RelayEvent): readonly string[] {
    const record = event.record;
    return [
      event.id,
      event.type,
      event.occurred ?? '',
      event.format,
      event.appId ?? '',
      event.deviceId ?? '',
      event.userId ?? '',
      record.shardId,
      record.sequenceNumber,
      String(record.subSequenceNumber),
      dateToIso(record.approximateArrivalTimestamp),
      JSON.stringify(event.attributes),
      // A metric beyond 2^53 is a bigint, which jsonText writes with its digits.
      jsonText(event.metrics),
    ];
  },
  /**
   * The same line without the array of values (the S3 sink's per-event path). The format
   * is one of SOURCE_FORMATS, the sub-sequence number a number and the arrival time ISO
   * text: none ever needs quoting. `join` builds the line flat: `+=` left a tree of
   * strings that `Buffer.byteLength` then had to flatten.
   */
  csvLine(event: RelayEvent): string {
    const record = event.record;
    return [
      csvCell(event.id),
      csvCell(event.type),
      csvCell(event.occurred ?? ''),
      event.format,
      csvCell(event.appId ?? ''),
      csvCell(event.deviceId ?? ''),
      csvCell(event.userId ?? ''),
      csvCell(record.shardId),
      csvCell(record.sequenceNumber),
      String(record.subSequenceNumber),
      dateToIso(record.approximateArrivalTimestamp),
      csvJsonObjectCell(event.attributes),
      `${csvJsonObjectCell(event.metrics)}\n`,
    ].join(',');
  },
};

/**
 * Event types whose reference header list is not used. TAG_CHANGE appears in the
 * reference's header appendix, but the same document says "Tag changes are not supported
 * by CSV because their dynamic nature cannot be easily represented in a single row column
 * structure" (and the list has no tag columns): the prose wins, tag changes go to JSON.
 */
const JSON_ONLY_AIRSHIP_TYPES = new Set(['TAG_CHANGE']);

function airshipShape(type: string, header: readonly string[]): CsvShape {
  const readers = header.map(columnReader);
  return {
    id: `airship:${type}`,
    header,
    values: (event) => readers.map((read) => read(event.original)),
  };
}

// Built once: the header list and column readers of each type are shared by all events.
export const AIRSHIP_SHAPES: ReadonlyMap<string, CsvShape> = new Map(
  Object.entries(AIRSHIP_CSV_HEADERS)
    .filter(([type]) => !JSON_ONLY_AIRSHIP_TYPES.has(type))
    .map(([type, header]) => [type, airshipShape(type, header)]),
);

/**
 * Airship events: their type's reference header list, or null (JSON only) for types
 * without one. Raw events: null, as bytes have no columns. Everything else: generic.
 */
export const csvShapeFor: CsvShapeResolver = (event) => {
  switch (event.format) {
    case 'airship':
      return AIRSHIP_SHAPES.get(event.type) ?? null;
    case 'raw':
      return null;
    default:
      return genericShape;
  }
};

/**
 * The shape with this id: how the main thread finds the shape of an event a decode worker
 * encoded (the worker sends the id; a shape holds functions, which do not cross threads).
 */
export function csvShapeById(id: string): CsvShape | null {
  if (id === genericShape.id) return genericShape;
  return id.startsWith('airship:')
    ? (AIRSHIP_SHAPES.get(id.slice('airship:'.length)) ?? null)
    : null;
}
