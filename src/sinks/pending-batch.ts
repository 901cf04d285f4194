import type { AckHandle } from '../core/ack.js';
import type { UserRecord } from '../core/record.js';

/**
 * What an event in a batch holds besides its encoded item and its record's bytes: the
 * record, position and acknowledgement objects and their strings (sequence number,
 * partition key). Measured with heap snapshots of a relay under a slow sink: 0.9-1.1 KB.
 */
export const EVENT_OVERHEAD_BYTES = 1024;

const NO_DATA = new Uint8Array();

/**
 * The record without its bytes, for a sink that can never dead-letter it (no dead-letter
 * destination: it retries for ever). Its bytes were needed only to decode and encode it;
 * kept, they were a third of what an in-flight event held (docs/performance.md).
 */
function withoutData(record: UserRecord): UserRecord {
  return { ...record, data: NO_DATA };
}

/**
 * The events of one batch, until it is written: one encoded item per event, plus the
 * record (for a dead-letter entry) and the acknowledgement handle of each.
 */
export class PendingBatch<T> {
  readonly items: T[] = [];
  readonly acks: AckHandle[] = [];
  readonly records: UserRecord[] = [];
  /** The encoded items' bytes: the size of what the batch is written as. */
  bytes = 0;
  /** The memory the batch holds, as the sink's in-flight bound counts it (see `add`). */
  held = 0;

  constructor(readonly openedAt: number) {}

  /**
   * Adds an event whose encoded item is `bytes` long; returns the memory it holds: the
   * item, the record's bytes (kept for a dead-letter entry, unless `keepData` is false
   * because none can be written) and the objects around them.
   */
  add(item: T, bytes: number, record: UserRecord, ack: AckHandle, keepData = true): number {
    this.items.push(item);
    this.records.push(keepData ? record : withoutData(record));
    this.acks.push(ack);
    this.bytes += bytes;
    const held = bytes + (keepData ? record.data.byteLength : 0) + EVENT_OVERHEAD_BYTES;
    this.held += held;
    return held;
  }

  get size(): number {
    return this.items.length;
  }

  /**
   * Events [start, end) as a batch of their own (a receiver refused the whole as too
   * large). Its `bytes` and `held` stay 0: a part is only sent; the whole batch is what
   * the in-flight bound counts, and object bodies (plainBody) are never built from parts.
   */
  slice(start: number, end: number): PendingBatch<T> {
    const part = new PendingBatch<T>(this.openedAt);
    part.items.push(...this.items.slice(start, end));
    part.records.push(...this.records.slice(start, end));
    part.acks.push(...this.acks.slice(start, end));
    return part;
  }
}

/** What acknowledging or dead-lettering a batch needs: its records and their handles. */
export interface SettleableBatch {
  readonly records: readonly UserRecord[];
  readonly acks: readonly AckHandle[];
  readonly size: number;
}
