import { SOURCE_FORMATS, type SourceFormat } from '../../core/event.js';
import type { UserRecord } from '../../core/record.js';
import type { OutputKind } from '../../sinks/s3/key-layout.js';
import type { PreEncodedEvent } from '../../sinks/sink.js';
import { PackReader, PackWriter } from './pack.js';

/**
 * The two messages of a decode worker, as pure functions: a page of user records (main
 * thread → worker) and what the worker made of it (worker → main thread).
 */

/** One event's line for one sink, encoded in a worker. */
export type WorkerEncoded = PreEncodedEvent;

/** What the main thread routes and tracks of one event. */
export interface WorkerEvent {
  readonly type: string;
  readonly format: SourceFormat;
  /** Per sink, in the router's order: the encoded line, or null (not encoded in the worker). */
  readonly encoded: ReadonlyArray<WorkerEncoded | null>;
}

export type WorkerRecordResult =
  | { readonly ok: true; readonly events: readonly WorkerEvent[] }
  | { readonly ok: false; readonly error: string };

const AGGREGATED = 1;
const HAS_EXPLICIT_HASH_KEY = 2;
const KINDS: readonly OutputKind[] = ['csv', 'json', 'parquet'];

/** A page of user records as one buffer: their fields and bytes, back to back. */
export function packPage(records: readonly UserRecord[]): ArrayBuffer {
  let capacity = 64;
  for (const record of records) capacity += 160 + record.data.byteLength;
  const out = new PackWriter(capacity);
  out.u32(records.length);
  for (const record of records) packRecord(out, record);
  return out.finish();
}

/** The records of a packed page; their bytes are views into the page (no copies). */
export function unpackPage(page: ArrayBuffer): UserRecord[] {
  const input = new PackReader(page);
  const count = input.u32();
  const records: UserRecord[] = [];
  for (let index = 0; index < count; index += 1) records.push(unpackRecord(input));
  return records;
}

/** One user record's fields and bytes (a page's, or a chunk's kept records: kept-records.ts). */
export function packRecord(out: PackWriter, record: UserRecord): void {
  out.ref(record.streamName);
  out.ref(record.shardId);
  out.text(record.sequenceNumber);
  out.u32(record.subSequenceNumber);
  out.text(record.partitionKey);
  const explicit = record.explicitHashKey;
  out.u8(
    (record.aggregated ? AGGREGATED : 0) | (explicit !== undefined ? HAS_EXPLICIT_HASH_KEY : 0),
  );
  if (explicit !== undefined) out.text(explicit);
  out.f64(record.approximateArrivalTimestamp.getTime());
  out.bytes(record.data);
}

/** The record packRecord wrote; its bytes are a view into the message (no copy). */
export function unpackRecord(input: PackReader): UserRecord {
  const streamName = input.ref() ?? '';
  const shardId = input.ref() ?? '';
  const sequenceNumber = input.text();
  const subSequenceNumber = input.u32();
  const partitionKey = input.text();
  const flags = input.u8();
  const explicitHashKey = flags & HAS_EXPLICIT_HASH_KEY ? input.text() : undefined;
  const approximateArrivalTimestamp = new Date(input.f64());
  const data = input.bytesView();
  return {
    streamName,
    shardId,
    sequenceNumber,
    subSequenceNumber,
    partitionKey,
    ...(explicitHashKey !== undefined ? { explicitHashKey } : {}),
    aggregated: (flags & AGGREGATED) !== 0,
    approximateArrivalTimestamp,
    data,
  };
}

/** Builds the worker's answer record by record (one call per record, in page order). */
export class ResultWriter {
  private readonly out: PackWriter;

  constructor(
    records: number,
    private readonly sinks: number,
    capacity: number,
  ) {
    this.out = new PackWriter(capacity);
    this.out.u32(records);
    this.out.u32(sinks);
  }

  failed(error: string): void {
    this.out.u8(0);
    this.out.text(error);
  }

  decoded(events: readonly WorkerEvent[]): void {
    const out = this.out;
    out.u8(1);
    out.u32(events.length);
    for (const event of events) {
      out.ref(event.type);
      out.u8(SOURCE_FORMATS.indexOf(event.format));
      if (event.encoded.length !== this.sinks) throw new Error('one encoded slot per sink');
      for (const encoded of event.encoded) {
        if (!encoded) {
          out.u8(0);
          continue;
        }
        out.u8(1 + KINDS.indexOf(encoded.kind));
        out.ref(encoded.shapeId);
        out.ref(encoded.directory);
        out.utf8(encoded.line);
      }
    }
  }

  finish(): ArrayBuffer {
    return this.out.finish();
  }
}

export function unpackResults(message: ArrayBuffer): WorkerRecordResult[] {
  const input = new PackReader(message);
  const count = input.u32();
  const sinks = input.u32();
  const results: WorkerRecordResult[] = [];
  for (let index = 0; index < count; index += 1) {
    if (input.u8() === 0) {
      results.push({ ok: false, error: input.text() });
      continue;
    }
    const eventCount = input.u32();
    const events: WorkerEvent[] = [];
    for (let eventIndex = 0; eventIndex < eventCount; eventIndex += 1) {
      const type = input.ref() ?? '';
      const format = SOURCE_FORMATS[input.u8()];
      if (format === undefined) throw new Error('malformed decode result: unknown format');
      const encoded: Array<WorkerEncoded | null> = [];
      for (let sink = 0; sink < sinks; sink += 1) {
        const tag = input.u8();
        if (tag === 0) {
          encoded.push(null);
          continue;
        }
        const kind = KINDS[tag - 1];
        if (kind === undefined) throw new Error('malformed decode result: unknown output kind');
        const shapeId = input.ref();
        const directory = input.ref() ?? '';
        const line = input.utf8();
        encoded.push({ kind, shapeId, directory, line: line.value, bytes: line.bytes });
      }
      events.push({ type, format, encoded });
    }
    results.push({ ok: true, events });
  }
  return results;
}
