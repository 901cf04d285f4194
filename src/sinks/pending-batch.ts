import type { AckHandle } from '../core/ack.js';
import type { UserRecord } from '../core/record.js';

/**
 * What an event in a batch holds besides its encoded item and its record's bytes: the
 * record, position and acknowledgement objects and their strings (sequence number,
 * partition key). Measured with heap snapshots of a relay under a slow sink: 0.9-1.1 KB.
 */
export const EVENT_OVERHEAD_BYTES = 1024;

/** What a chunk holds besides its text: the chunk's object and its one handle. */
const CHUNK_OVERHEAD_BYTES = 256;

/**
 * The events of one batch, until it is written: one encoded item and the acknowledgement
 * handle of each, and their records while a dead-letter entry could need them.
 */
export class PendingBatch<T> {
  readonly items: T[] = [];
  readonly acks: AckHandle[] = [];
  /**
   * The events' records (with their bytes), only where a dead-letter entry could need
   * them: empty for a sink without a dead-letter destination, which retries for ever.
   * Such a batch used to keep a copy of each record without its bytes (a third of what an
   * in-flight event held besides its item, and one object more per event to allocate and
   * collect); what delivery needs of them is the oldest arrival, kept below.
   */
  readonly records: UserRecord[] = [];
  /**
   * Where the batch holds chunks and may dead-letter them: each chunk's records, compressed
   * (kept-records.ts), one per handle in `acks`; empty otherwise.
   */
  readonly chunkRecords: Uint8Array[] = [];
  /** When the batch's oldest record reached Kinesis (ms since epoch), for retry.maxRecordAgeMs. */
  oldestArrivalMs = Number.POSITIVE_INFINITY;
  /** The encoded items' bytes: the size of what the batch is written as. */
  bytes = 0;
  /** The memory the batch holds, as the sink's in-flight bound counts it (see `add`). */
  held = 0;
  /** Events beyond one per handle: those added as chunks (`addChunk`). */
  private chunkedEvents = 0;
  /** The kept records' bytes, while the batch keeps them. */
  private readonly keptBytes = new KeptBytes();
  /** The last record kept, and its copy: a record's events arrive one after another. */
  private lastKept: { readonly record: UserRecord; readonly copy: UserRecord } | null = null;

  constructor(readonly openedAt: number) {}

  /**
   * Adds an event whose encoded item is `bytes` long; returns the memory it holds: the
   * item, the record's bytes (kept for a dead-letter entry, unless `keepData` is false
   * because none can be written) and the objects around them.
   */
  add(item: T, bytes: number, record: UserRecord, ack: AckHandle, keepData = true): number {
    this.keep(item, bytes);
    if (keepData) this.records.push(this.kept(record));
    this.acks.push(ack);
    const arrival = record.approximateArrivalTimestamp.getTime();
    if (arrival < this.oldestArrivalMs) this.oldestArrivalMs = arrival;
    this.bytes += bytes;
    const held = bytes + (keepData ? record.data.byteLength : 0) + EVENT_OVERHEAD_BYTES;
    this.held += held;
    return held;
  }

  /**
   * Counts a chunk of `events` events whose lines are `bytes` long and held as `stored`
   * bytes (the subclass keeps them), acknowledged by one handle (ShardPipeline.processPage),
   * their records arrived no earlier than `oldestArrivalMs`; returns the memory it holds.
   * `records`: the events' records, compressed, where the sink dead-letters (else null).
   */
  protected countChunk(
    bytes: number,
    stored: number,
    events: number,
    ack: AckHandle,
    oldestArrivalMs: number,
    records: Uint8Array | null,
  ): number {
    if (
      records === null ? this.chunkRecords.length > 0 : this.chunkRecords.length < this.acks.length
    ) {
      throw new Error('unreachable: chunks with and without their records in one batch');
    }
    this.acks.push(ack);
    if (records !== null) this.chunkRecords.push(records);
    this.chunkedEvents += events - 1;
    if (oldestArrivalMs < this.oldestArrivalMs) this.oldestArrivalMs = oldestArrivalMs;
    this.bytes += bytes;
    const held = stored + (records?.byteLength ?? 0) + CHUNK_OVERHEAD_BYTES;
    this.held += held;
    return held;
  }

  /**
   * The record as the batch keeps it, with its bytes copied into the batch's own slabs: a
   * view would keep its whole page alive, and a buffer per record (as before) cost ~3
   * µs of CPU per record in allocation and garbage collection (docs/performance.md).
   */
  private kept(record: UserRecord): UserRecord {
    const last = this.lastKept;
    if (last?.record === record) return last.copy;
    const copy = { ...record, data: this.keptBytes.copy(record.data) };
    this.lastKept = { record, copy };
    return copy;
  }

  /** Events in the batch: one per acknowledgement handle, and each chunk's events. */
  get size(): number {
    return this.acks.length + this.chunkedEvents;
  }

  /** Keeps an event's encoded item until the batch is written. */
  protected keep(item: T, _bytes: number): void {
    this.items.push(item);
  }

  /**
   * Events [start, end) as a batch of their own (a receiver refused the whole as too
   * large). Its `bytes` and `held` stay 0: a part is only sent; the whole batch is what
   * the in-flight bound counts, and object bodies (plainBody) are never built from parts.
   */
  slice(start: number, end: number): PendingBatch<T> {
    if (this.chunkedEvents > 0) throw new Error('unreachable: a batch of chunks split into parts');
    const part = new PendingBatch<T>(this.openedAt);
    // One by one, not push(...slice): a spread passes every element as an argument, and
    // past ~125,000 (half of a large Redshift batch) that ran out of stack.
    for (let index = start; index < Math.min(end, this.acks.length); index += 1) {
      part.items.push(this.items[index] as T);
      part.acks.push(this.acks[index] as AckHandle);
      const record = this.records[index];
      if (record) part.records.push(record);
    }
    // The part's own oldest record where it keeps them; else the whole batch's (such a
    // batch never gives up, so its record age decides nothing).
    part.oldestArrivalMs = part.records.reduce(
      (oldest, record) => Math.min(oldest, record.approximateArrivalTimestamp.getTime()),
      part.records.length > 0 ? Number.POSITIVE_INFINITY : this.oldestArrivalMs,
    );
    return part;
  }
}

/**
 * What acknowledging or dead-lettering a batch needs: the events' handles, their records
 * where it may dead-letter them (one per handle; a batch of chunks: each chunk's records
 * packed, one per handle), and when the oldest reached Kinesis.
 */
export interface SettleableBatch {
  readonly records: readonly UserRecord[];
  readonly chunkRecords: readonly Uint8Array[];
  readonly oldestArrivalMs: number;
  readonly acks: readonly AckHandle[];
  readonly size: number;
}

const FIRST_SLAB_BYTES = 4 * 1024;
const MAX_SLAB_BYTES = 256 * 1024;

/**
 * Copies of records' bytes in a few growing slabs (4 KiB doubling to 256 KiB), freed
 * together with the batch that holds them. A record larger than a slab's quarter gets a
 * buffer of its own, so at most a quarter of a slab (and the first 4 KiB) is ever unused.
 */
class KeptBytes {
  private slab: Uint8Array | null = null;
  private used = 0;

  copy(data: Uint8Array): Uint8Array {
    const size = data.byteLength;
    if (!this.slab || this.used + size > this.slab.byteLength) {
      const next = this.slab
        ? Math.min(this.slab.byteLength * 2, MAX_SLAB_BYTES)
        : FIRST_SLAB_BYTES;
      if (size > next / 4) return new Uint8Array(data);
      this.slab = new Uint8Array(next);
      this.used = 0;
    }
    const view = this.slab.subarray(this.used, this.used + size);
    view.set(data);
    this.used += size;
    return view;
  }
}
