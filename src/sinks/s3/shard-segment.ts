import type { AckHandle } from '../../core/ack.js';
import { positionOf, type UserRecord } from '../../core/record.js';
import { ObjectBatch } from './batch.js';
import { itemOf, type EncodedEvent } from './event-encoder.js';
import type { SegmentRange } from './segment-ranges.js';
import type { SegmentStats } from './segment-rules.js';

/**
 * The open segment of one shard in an exactly-once sink: consecutive records of that shard,
 * split into one object per directory x output kind x CSV shape.
 */
export class ShardSegment implements SegmentStats {
  readonly objects = new Map<string, ObjectBatch>();
  readonly firstArrivalMs: number;
  events = 0;
  bytes = 0;
  private lastSequence: string;
  private lastSub: number;

  constructor(
    first: UserRecord,
    readonly range: SegmentRange,
    /** Wall clock of the last write: only the idle flush looks at it. */
    public lastWriteMs: number,
  ) {
    this.firstArrivalMs = first.approximateArrivalTimestamp.getTime();
    this.lastSequence = first.sequenceNumber;
    this.lastSub = first.subSequenceNumber;
  }

  /** True for the record the previous event came from (a record may yield several events). */
  holdsLast(record: UserRecord): boolean {
    return record.sequenceNumber === this.lastSequence && record.subSequenceNumber === this.lastSub;
  }

  add(directory: string, encoded: EncodedEvent, record: UserRecord, ack: AckHandle): void {
    const key = `${encoded.kind}|${encoded.shape?.id ?? ''}|${directory}`;
    let batch = this.objects.get(key);
    if (!batch) {
      batch = new ObjectBatch(
        directory,
        encoded.kind,
        encoded.shape,
        record.approximateArrivalTimestamp,
        0,
      );
      this.objects.set(key, batch);
    }
    batch.add(itemOf(encoded), encoded.bytes, record, ack);
    this.events += 1;
    this.bytes += encoded.bytes;
    if (!this.holdsLast(record)) {
      this.lastSequence = record.sequenceNumber;
      this.lastSub = record.subSequenceNumber;
      // A position, not the record: the record's bytes are a view of its whole page.
      this.range.last = positionOf(record);
    }
  }
}
