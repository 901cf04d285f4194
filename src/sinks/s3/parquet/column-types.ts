import type { CsvShape } from '../../../core/csv-shape.js';
import { timestampMillis } from '../event-time.js';

/** The typed columns of the Parquet output (and of the tables `athena ddl` prints). */
export type ColumnType = 'string' | 'timestamp' | 'double' | 'bigint';

export interface TypedColumn {
  /** Lower case: Athena (Hive metastore) column names are, and match Parquet names by it. */
  readonly name: string;
  readonly type: ColumnType;
}

/*
 * Types only where the decoder knows them. Airship: the reference lists names only; the
 * types follow Airship's RTDS event schema (ISO-8601 times, JSON numbers). Everything
 * else, booleans and ids included, stays text as in the CSV output.
 */
const AIRSHIP_TIMESTAMPS = new Set([
  'OCCURRED',
  'PROCESSED',
  'LAST_DELIVERED_TIME',
  'TRIGGERING_TIME',
  'REPLACING_PUSH_TIME',
  'TIME_SENT',
  'TIME_EXPIRED',
]);
const AIRSHIP_NUMBERS = new Set([
  'LATITUDE',
  'LONGITUDE',
  'VALUE',
  'DURATION',
  'PAGE_COUNT',
  'PAGE_INDEX',
  'VIEWED_COUNT',
]);

/** The generic flattened set (csv-columns.ts GENERIC_HEADER); attributes and metrics are JSON text. */
const GENERIC_TYPES: Readonly<Record<string, ColumnType>> = {
  occurred: 'timestamp',
  arrival_time: 'timestamp',
  sub_sequence_number: 'bigint',
};

function columnType(shapeId: string, column: string): ColumnType {
  if (shapeId.startsWith('airship:')) {
    if (AIRSHIP_TIMESTAMPS.has(column)) return 'timestamp';
    if (AIRSHIP_NUMBERS.has(column)) return 'double';
    return 'string';
  }
  return GENERIC_TYPES[column] ?? 'string';
}

const cache = new Map<string, readonly TypedColumn[]>();

/** The typed columns of a CSV shape, in the shape's order. */
export function typedColumns(shape: Pick<CsvShape, 'id' | 'header'>): readonly TypedColumn[] {
  let columns = cache.get(shape.id);
  if (!columns) {
    columns = shape.header.map((column) => ({
      name: column.toLowerCase(),
      type: columnType(shape.id, column),
    }));
    cache.set(shape.id, columns);
  }
  return columns;
}

/** A cell's value as the column's Parquet type; empty or unreadable text is NULL. */
export function typedValue(type: ColumnType, text: string): string | number | bigint | null {
  if (text === '') return null;
  switch (type) {
    case 'string':
      return text;
    case 'timestamp': {
      const ms = timestampMillis(text);
      return ms === null ? null : BigInt(ms);
    }
    case 'double': {
      const value = Number(text);
      return Number.isFinite(value) ? value : null;
    }
    case 'bigint':
      return /^-?\d+$/.test(text) ? BigInt(text) : null;
  }
}
