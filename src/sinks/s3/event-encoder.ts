import type { CsvShape, CsvShapeResolver } from '../../core/csv-shape.js';
import { csvLine } from '../../core/csv-text.js';
import type { RelayEvent } from '../../core/event.js';
import { jsonText } from '../../core/json-text.js';
import { csvShapeById } from '../../decode/csv-columns.js';
import type { ObjectItem } from './batch.js';
import type { OutputKind } from './key-layout.js';

export interface EncodedEvent {
  readonly kind: OutputKind;
  readonly shape: CsvShape | null;
  /**
   * Kept as text until the object body is built: one copy into the body instead of a
   * Buffer per line, and no 8 KB Buffer-pool slab pinned by each line still waiting.
   * Empty for Parquet rows (`row`).
   */
  readonly line: string;
  /** Parquet only: the shape's cells, typed and written column by column when the object is cut. */
  readonly row?: readonly string[];
  /** The line's UTF-8 length (Parquet: the cells' UTF-8 length plus what V8 holds around them). */
  readonly bytes: number;
}

/**
 * A Parquet row is held as an array of strings until its object is written, not as one
 * line: V8 spends a header per string and a slot per cell on top of the text. Counted in
 * the row's bytes so `maxInFlightBytes` and `buffer.maxBytes` bound the memory the rows
 * really hold. Measured (event-encoder.test.ts, Node 20 and 24, sample events of every
 * format): the rows hold about twice their text; these constants count ~1.3x what they hold.
 */
const CELL_OVERHEAD_BYTES = 32;
const ROW_OVERHEAD_BYTES = 96;

/** The CSV shape a decode worker named by its id (see PreEncodedEvent). */
export function shapeOf(id: string): CsvShape {
  const shape = csvShapeById(id);
  if (!shape) throw new Error(`a decode worker named an unknown CSV shape: ${id}`);
  return shape;
}

/** What an object batch keeps of an encoded event: its text line, or its Parquet row. */
export function itemOf(encoded: EncodedEvent): ObjectItem {
  return encoded.row ?? encoded.line;
}

/**
 * Turns an event into one line of its file. CSV (or a Parquet row) where the event has a
 * CSV shape; JSON where it has none (Airship tag changes, raw bytes), as Airship's own S3
 * export does.
 */
export class EventEncoder {
  constructor(
    private readonly format: 'csv' | 'jsonl' | 'parquet',
    /** Airship's layout holds Airship's own documents; other layouts the normalized event. */
    private readonly verbatimJson: boolean,
    private readonly resolveShape: CsvShapeResolver,
  ) {}

  encode(event: RelayEvent): EncodedEvent {
    const shape = this.format === 'jsonl' ? null : this.resolveShape(event);
    if (shape && this.format === 'parquet') {
      const row = shape.values(event);
      let bytes = ROW_OVERHEAD_BYTES + row.length * CELL_OVERHEAD_BYTES;
      for (const cell of row) bytes += Buffer.byteLength(cell);
      return { kind: 'parquet', shape, line: '', row, bytes };
    }
    if (shape) {
      const line = shape.csvLine ? shape.csvLine(event) : csvLine(shape.values(event));
      return { kind: 'csv', shape, line, bytes: Buffer.byteLength(line) };
    }
    const document = this.verbatimJson ? event.original : normalizedDocument(event);
    // jsonText: an integer beyond 2^53 in the document is a bigint, written with its digits.
    const line = `${jsonText(document)}\n`;
    return { kind: 'json', shape: null, line, bytes: Buffer.byteLength(line) };
  }
}

/** One CSV line of values (see core/csv-text.ts); the header line of an object too. */
export { csvLine };

/** The normalized event as a JSON document (S3 JSON Lines outside the airship layout, webhooks). */
export function normalizedDocument(event: RelayEvent) {
  const { record } = event;
  return {
    id: event.id,
    type: event.type,
    occurred: event.occurred,
    format: event.format,
    app_id: event.appId,
    device_id: event.deviceId,
    user_id: event.userId,
    attributes: event.attributes,
    metrics: event.metrics,
    kinesis: {
      stream: record.streamName,
      shard_id: record.shardId,
      sequence_number: record.sequenceNumber,
      sub_sequence_number: record.subSequenceNumber,
      partition_key: record.partitionKey,
      arrival_time: record.approximateArrivalTimestamp.toISOString(),
    },
    original: event.original,
  };
}
