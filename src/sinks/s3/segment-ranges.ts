import { comparePositions, positionOf, type RecordPosition } from '../../core/record.js';

/** The first and last record of one segment, and the last record of the one before it. */
export interface SegmentRange {
  readonly first: RecordPosition;
  last: RecordPosition;
  /** Last record of the shard's previous segment in this sink; null: none seen by this worker. */
  readonly before: RecordPosition | null;
}

/**
 * Which checkpoints keep a replay deterministic. A replay from checkpoint C starts a fresh
 * segment at the first record after C; it rebuilds the same objects only if no segment
 * written so far has records on both sides of C. Another destination (a second sink, the
 * dead-letter writer) can hold a shard's acknowledged position inside one of our segments;
 * then the checkpoint is moved back to the end of the segment before it.
 */
export class SegmentRanges {
  private readonly byShard = new Map<string, SegmentRange[]>();
  private readonly lastEnd = new Map<string, RecordPosition>();

  /** Registers a segment that starts at `first`; its `last` is updated as it grows. */
  open(shardId: string, first: RecordPosition): SegmentRange {
    // Positions only: a record here would keep its whole page alive (positionOf).
    const start = positionOf(first);
    const before = this.lastEnd.get(shardId) ?? null;
    const range: SegmentRange = { first: start, last: start, before };
    const ranges = this.byShard.get(shardId) ?? [];
    ranges.push(range);
    this.byShard.set(shardId, ranges);
    return range;
  }

  /** The segment was cut at its current last record. */
  close(shardId: string, range: SegmentRange): void {
    this.lastEnd.set(shardId, range.last);
  }

  /** The segment was dropped unwritten (the shard was released): it constrains nothing. */
  discard(shardId: string, range: SegmentRange): void {
    const ranges = this.byShard.get(shardId);
    if (!ranges) return;
    const index = ranges.indexOf(range);
    if (index >= 0) ranges.splice(index, 1);
    // A later reader of this shard on this worker starts from a checkpoint, not from here.
    this.lastEnd.delete(shardId);
  }

  /**
   * The highest position at or below `candidate` (everything up to which is acknowledged)
   * that no segment straddles; null when no such position is known on this worker.
   * Asking changes nothing: another sink may move the candidate lower afterwards, and the
   * segments below this candidate must then still be checked (issue 17, item 2).
   */
  safeCheckpoint(shardId: string, candidate: RecordPosition): RecordPosition | null {
    const ranges = this.byShard.get(shardId);
    if (!ranges) return candidate;
    let safe: RecordPosition = candidate;
    // Moving back may land inside another (stale, overlapping) range: repeat until stable.
    for (let moved = true; moved;) {
      moved = false;
      for (const range of ranges) {
        if (comparePositions(range.first, safe) > 0 || comparePositions(range.last, safe) <= 0)
          continue;
        if (!range.before) return null;
        if (comparePositions(range.before, safe) < 0) {
          safe = range.before;
          moved = true;
        }
      }
    }
    return safe;
  }

  /**
   * The shard's checkpoint was written at `position`. Checkpoints never move back, so the
   * segments ending at or below it constrain nothing any more.
   */
  checkpointed(shardId: string, position: RecordPosition): void {
    const ranges = this.byShard.get(shardId);
    if (!ranges) return;
    this.byShard.set(
      shardId,
      ranges.filter((range) => comparePositions(range.last, position) > 0),
    );
  }

  /** Ranges still tracked for a shard (for tests and memory checks). */
  tracked(shardId: string): number {
    return this.byShard.get(shardId)?.length ?? 0;
  }
}
