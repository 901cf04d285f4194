import type { AckHandle } from '../../core/ack.js';
import type { CsvShape } from '../../core/csv-shape.js';
import type { UserRecord } from '../../core/record.js';
import type { OutputKind } from './key-layout.js';

/** The events bound for one S3 object, until it is cut and written. */
export class ObjectBatch {
  readonly lines: Buffer[] = [];
  readonly acks: AckHandle[] = [];
  /** Kept for the dead-letter entry should the object never be written. */
  readonly records: UserRecord[] = [];
  bytes = 0;

  constructor(
    readonly directory: string,
    readonly kind: OutputKind,
    readonly shape: CsvShape | null,
    readonly firstArrival: Date,
    readonly openedAt: number,
  ) {}

  add(line: Buffer, record: UserRecord, ack: AckHandle): void {
    this.lines.push(line);
    this.records.push(record);
    this.acks.push(ack);
    this.bytes += line.byteLength;
  }

  get size(): number {
    return this.lines.length;
  }
}
