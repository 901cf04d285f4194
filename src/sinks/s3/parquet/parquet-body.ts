import { setImmediate as nextTurn } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { CsvShape } from '../../../core/csv-shape.js';
import { zstdCompressSync } from '../zstd.js';
import { typedColumns, typedValue, type ColumnType, type TypedColumn } from './column-types.js';

type WriterOptions = ConstructorParameters<typeof ParquetWriter>[0];
type SchemaElement = WriterOptions['schema'][number];
type CompressionCodec = NonNullable<WriterOptions['codec']>;

export interface ParquetSettings {
  readonly compression: 'snappy' | 'gzip' | 'zstd' | 'none';
  readonly rowGroupBytes: number;
}

const CODECS: Readonly<Record<ParquetSettings['compression'], CompressionCodec>> = {
  snappy: 'SNAPPY',
  gzip: 'GZIP',
  zstd: 'ZSTD',
  none: 'UNCOMPRESSED',
};

/**
 * Page compressors besides hyparquet-writer's built-in snappy: Node's zlib, with fixed
 * settings so the bytes depend on the rows alone (exactly-once objects rewrite the same bytes).
 */
const COMPRESSORS = {
  GZIP: (input: Uint8Array) => gzipSync(input, { level: 6, memLevel: 8, windowBits: 15 }),
  ZSTD: zstdCompressSync,
};

/**
 * A constant: no version or time in the footer, so a replay writes the same bytes.
 * (Readers use created_by only to work around known bugs of other writers.)
 */
const CREATED_BY = 'kinesis-relay';

function schemaElement(column: TypedColumn): SchemaElement {
  const base = { name: column.name, repetition_type: 'OPTIONAL' as const };
  switch (column.type) {
    case 'string':
      return {
        ...base,
        type: 'BYTE_ARRAY',
        converted_type: 'UTF8',
        logical_type: { type: 'STRING' },
      };
    case 'timestamp':
      return {
        ...base,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
      };
    case 'double':
      return { ...base, type: 'DOUBLE' };
    case 'bigint':
      return { ...base, type: 'INT64' };
  }
}

/** The Parquet schema of a shape: a flat message of optional columns. */
export function parquetSchema(columns: readonly TypedColumn[]): SchemaElement[] {
  return [{ name: 'schema', num_children: columns.length }, ...columns.map(schemaElement)];
}

/** Approximate text bytes of a row: what `rowGroupBytes` is measured in (deterministic). */
function rowBytes(row: readonly string[]): number {
  let bytes = row.length;
  for (const cell of row) bytes += cell.length;
  return bytes;
}

/**
 * One Parquet file of `rows` (each the shape's CSV cells, in the shape's order). Row groups
 * close at `rowGroupBytes` of row text, so the column arrays built for a group (the
 * largest transient buffers) stay bounded whatever the object's size. The encoding is
 * synchronous JavaScript: the event loop gets a turn between row groups, so lease renewals
 * and reads are held up by one group's encoding at most, not by a whole large object's.
 */
export async function parquetBody(
  shape: Pick<CsvShape, 'id' | 'header'>,
  rows: readonly (readonly string[])[],
  settings: ParquetSettings,
): Promise<Buffer> {
  const columns = typedColumns(shape);
  const writer = new ByteWriter();
  const parquet = new ParquetWriter({
    writer,
    schema: parquetSchema(columns),
    codec: CODECS[settings.compression],
    compressors: COMPRESSORS,
    createdBy: CREATED_BY,
  });
  let start = 0;
  let bytes = 0;
  for (let index = 0; index < rows.length; index += 1) {
    bytes += rowBytes(rows[index] ?? []);
    if (bytes >= settings.rowGroupBytes || index === rows.length - 1) {
      if (start > 0) await nextTurn();
      writeRowGroup(parquet, columns, rows, start, index + 1);
      start = index + 1;
      bytes = 0;
    }
  }
  if (rows.length === 0) writeRowGroup(parquet, columns, rows, 0, 0);
  void parquet.finish();
  return Buffer.from(writer.getBuffer());
}

function writeRowGroup(
  parquet: ParquetWriter,
  columns: readonly TypedColumn[],
  rows: readonly (readonly string[])[],
  start: number,
  end: number,
): void {
  const columnData = columns.map((column, position) => ({
    name: column.name,
    data: columnValues(column.type, rows, position, start, end),
  }));
  // One group per call: the rows were already split by bytes.
  void parquet.write({ columnData, rowGroupSize: Math.max(1, end - start) });
}

function columnValues(
  type: ColumnType,
  rows: readonly (readonly string[])[],
  position: number,
  start: number,
  end: number,
): (string | number | bigint | null)[] {
  const values: (string | number | bigint | null)[] = new Array<string | number | bigint | null>(
    end - start,
  );
  for (let index = start; index < end; index += 1) {
    values[index - start] = typedValue(type, rows[index]?.[position] ?? '');
  }
  return values;
}
