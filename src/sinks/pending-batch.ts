import type { AckHandle } from '../core/ack.js';
import type { UserRecord } from '../core/record.js';

/**
 * The events of one batch, until it is written: one encoded item per event, plus the
 * record (for a dead-letter entry) and the acknowledgement handle of each.
 */
export class PendingBatch<T> {
  readonly items: T[] = [];
  readonly acks: AckHandle[] = [];
  readonly records: UserRecord[] = [];
  bytes = 0;

  constructor(readonly openedAt: number) {}

  add(item: T, bytes: number, record: UserRecord, ack: AckHandle): void {
    this.items.push(item);
    this.records.push(record);
    this.acks.push(ack);
    this.bytes += bytes;
  }

  get size(): number {
    return this.items.length;
  }

  /** Events [start, end) as a batch of their own (a receiver refused the whole as too large). */
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
