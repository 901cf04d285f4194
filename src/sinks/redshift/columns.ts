import { REDSHIFT_STREAM_KEY_COLUMN, type ColumnSource } from '../../config/schema.js';
import type { JsonValue, RelayEvent } from '../../core/event.js';
import { jsonText as exactJsonText } from '../../core/json-text.js';

/** How a column is stored; the SQL type follows from it and the dialect. */
export type ColumnKind = 'key' | 'text' | 'long-text' | 'timestamp' | 'number' | 'integer';

export interface Column {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly value: (event: RelayEvent) => string | null;
}

/**
 * The merge key: a record's position plus the event id, because one Kinesis record may
 * decode to several events (the id is stable across re-reads, see decode/record-id.ts).
 */
export const KEY_COLUMNS: readonly Column[] = [
  { name: 'shard_id', kind: 'key', value: (e) => e.record.shardId },
  { name: 'sequence_number', kind: 'key', value: (e) => e.record.sequenceNumber },
  {
    name: 'sub_sequence_number',
    kind: 'integer',
    value: (e) => String(e.record.subSequenceNumber),
  },
  { name: 'event_id', kind: 'key', value: (e) => e.id },
];
export const KEY_COLUMN_NAMES: readonly string[] = KEY_COLUMNS.map((column) => column.name);

/** Used when the sink configures no `columns`: every field of the normalized event. */
export const DEFAULT_COLUMNS: Readonly<Record<string, ColumnSource>> = {
  event_type: 'type',
  occurred_at: 'occurred',
  source_format: 'format',
  app_id: 'appId',
  device_id: 'deviceId',
  user_id: 'userId',
  attributes: 'attributes',
  metrics: 'metrics',
  stream: 'stream',
  partition_key: 'partitionKey',
  arrival_time: 'arrivalTime',
  original: 'original',
};

/**
 * The stream, first in the merge key of a sink fed by several streams: Kinesis numbers
 * each stream's shards on its own (kinesis-local gives two streams the very same shard ids
 * and sequence numbers), so a position alone merged one stream's rows away as replays of
 * the other's, acknowledged and lost.
 */
export const STREAM_KEY_COLUMN: Column = {
  name: REDSHIFT_STREAM_KEY_COLUMN,
  kind: 'key',
  value: (e) => e.record.streamName,
};

/** The merge key's columns: the stream's too when the sink is fed by several streams. */
export function keyColumns(keyedByStream: boolean): readonly Column[] {
  return keyedByStream ? [STREAM_KEY_COLUMN, ...KEY_COLUMNS] : KEY_COLUMNS;
}

/**
 * The key columns followed by the mapped ones, in the configured order. Keyed by stream,
 * a mapped `stream` column is the key's own; the config schema refuses one of that name
 * with another source (schema.ts), so it cannot reach here from a loaded config.
 */
export function tableColumns(
  mapping: Readonly<Record<string, ColumnSource>> = DEFAULT_COLUMNS,
  keyedByStream = false,
): Column[] {
  const mapped = Object.entries(mapping).filter(
    ([name]) => !keyedByStream || name.toLowerCase() !== STREAM_KEY_COLUMN.name,
  );
  return [
    ...keyColumns(keyedByStream),
    ...mapped.map(([name, source]) => ({ name, ...sourceColumn(source) })),
  ];
}

/**
 * One CSV row per event, in column order. NULL is an unquoted empty field and an empty
 * string a quoted one (`""`), as COPY reads CSV. Written by hand: csv-stringify per row
 * was half the sink's time.
 */
export function csvRow(columns: readonly Column[], event: RelayEvent): Buffer {
  const row = checkedCsvRow(columns, event, {});
  if (!row.ok) throw new Error('unreachable: no column limits');
  return row.row;
}

/** A value wider than its column: the event cannot be stored whole. */
export interface TooLong {
  readonly column: string;
  readonly bytes: number;
  readonly limit: number;
}

/**
 * `csvRow`, unless a value is longer (in UTF-8 bytes) than its column kind allows:
 * then which column, so the event can be dead-lettered instead of stored cut short.
 */
export function checkedCsvRow(
  columns: readonly Column[],
  event: RelayEvent,
  limits: Readonly<Partial<Record<ColumnKind, number>>>,
): { readonly ok: true; readonly row: Buffer } | ({ readonly ok: false } & TooLong) {
  let line = '';
  for (let index = 0; index < columns.length; index += 1) {
    const column = columns[index];
    if (!column) continue;
    const value = column.value(event);
    const limit = limits[column.kind];
    // A UTF-16 unit is at most 3 UTF-8 bytes: most values are measured without encoding.
    if (limit !== undefined && value !== null && value.length * 3 > limit) {
      const bytes = Buffer.byteLength(value);
      if (bytes > limit) return { ok: false, column: column.name, bytes, limit };
    }
    if (index > 0) line += ',';
    line += csvField(value);
  }
  return { ok: true, row: Buffer.from(`${line}\n`) };
}

/** Quoted when it holds a delimiter, quote, line break or backslash (PostgreSQL's `\.`). */
function csvField(value: string | null): string {
  if (value === null) return '';
  if (value === '' || /[",\r\n\\]/.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

function sourceColumn(source: ColumnSource): Omit<Column, 'name'> {
  const [root = '', ...path] = source.split('.');
  if (path.length > 0) {
    if (root === 'metrics') {
      const name = path.join('.');
      return { kind: 'number', value: (e) => numberText(e.metrics[name]) };
    }
    if (root === 'attributes') {
      const name = path.join('.');
      return { kind: 'long-text', value: (e) => e.attributes[name] ?? null };
    }
    return { kind: 'long-text', value: (e) => jsonText(walk(e.original, path)) };
  }
  switch (source) {
    case 'occurred':
      return { kind: 'timestamp', value: (e) => (e.occurred ? sqlTimestamp(e.occurred) : null) };
    case 'arrivalTime':
      return {
        kind: 'timestamp',
        value: (e) => sqlTimestamp(e.record.approximateArrivalTimestamp.toISOString()),
      };
    case 'attributes':
      return { kind: 'long-text', value: (e) => JSON.stringify(e.attributes) };
    // exactJsonText: an integer beyond 2^53 is a bigint there, written with its digits.
    case 'metrics':
      return { kind: 'long-text', value: (e) => exactJsonText(e.metrics) };
    case 'original':
      return { kind: 'long-text', value: (e) => exactJsonText(e.original) };
    case 'stream':
      return { kind: 'text', value: (e) => e.record.streamName };
    case 'partitionKey':
      return { kind: 'text', value: (e) => e.record.partitionKey };
    case 'id':
    case 'type':
    case 'format':
    case 'appId':
    case 'deviceId':
    case 'userId':
      return { kind: 'text', value: (e) => e[source] };
    default:
      throw new Error(`unknown column source ${source}`);
  }
}

const UTC_ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/;

/** `2024-01-02 03:04:05.678`: UTC, no zone, which both Redshift and PostgreSQL read. */
function sqlTimestamp(iso: string): string | null {
  // Decoders already give UTC ISO strings: reformat those without a Date (it is the hot path).
  if (UTC_ISO.test(iso)) return `${iso.slice(0, 10)} ${iso.slice(11, -1)}`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return null;
  const utc = date.toISOString();
  return `${utc.slice(0, 10)} ${utc.slice(11, -1)}`;
}

function numberText(value: number | bigint | undefined): string | null {
  if (typeof value === 'bigint') return String(value);
  return value === undefined || !Number.isFinite(value) ? null : String(value);
}

function walk(value: JsonValue, path: readonly string[]): JsonValue | undefined {
  let current: JsonValue | undefined = value;
  for (const part of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = current[part];
  }
  return current;
}

/** A value under `original`: JSON for an object or array, else its text (a bigint's digits). */
function jsonText(value: JsonValue | undefined): string | null {
  if (value === undefined || value === null) return null;
  return typeof value === 'object' ? exactJsonText(value) : String(value);
}
