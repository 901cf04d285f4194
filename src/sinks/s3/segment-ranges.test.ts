import { describe, expect, it } from 'vitest';
import { noAck, userRecord } from '../../../test/support/user-record.js';
import { SegmentRanges } from './segment-ranges.js';
import { ShardSegment } from './shard-segment.js';

const at = (sequenceNumber: number, subSequenceNumber = 0) => ({
  sequenceNumber: String(sequenceNumber),
  subSequenceNumber,
});

/** Opens a segment over `[first, last]` and cuts it. */
function segment(ranges: SegmentRanges, first: number, last: number): void {
  const range = ranges.open('shard-1', at(first));
  range.last = at(last);
  ranges.close('shard-1', range);
}

describe('checkpoints that keep replays deterministic', () => {
  it('passes a checkpoint at a segment end through unchanged', () => {
    const ranges = new SegmentRanges();
    segment(ranges, 10, 20);
    segment(ranges, 21, 30);
    expect(ranges.safeCheckpoint('shard-1', at(20))).toEqual(at(20));
    expect(ranges.safeCheckpoint('shard-1', at(30))).toEqual(at(30));
    expect(ranges.tracked('shard-1')).toBe(2);
    ranges.checkpointed('shard-1', at(20));
    expect(ranges.tracked('shard-1')).toBe(1);
    ranges.checkpointed('shard-1', at(30));
    expect(ranges.tracked('shard-1')).toBe(0);
  });

  it('asking does not forget the segments below the candidate (another sink may lower it)', () => {
    const ranges = new SegmentRanges();
    segment(ranges, 3, 8);
    expect(ranges.safeCheckpoint('shard-1', at(10))).toEqual(at(10));
    // A second exactly-once sink moved the candidate back to 5, inside [3..8].
    expect(ranges.safeCheckpoint('shard-1', at(5))).toBeNull();
  });

  it('moves a checkpoint inside a segment (another sink lagging) back to the segment before', () => {
    const ranges = new SegmentRanges();
    segment(ranges, 10, 20);
    segment(ranges, 21, 30);
    expect(ranges.safeCheckpoint('shard-1', at(25))).toEqual(at(20));
    // Once the lagging destination catches up past the segment, the checkpoint moves on.
    expect(ranges.safeCheckpoint('shard-1', at(30))).toEqual(at(30));
  });

  it('knows no safe position inside the first segment this worker wrote', () => {
    const ranges = new SegmentRanges();
    segment(ranges, 10, 20);
    expect(ranges.safeCheckpoint('shard-1', at(15))).toBeNull();
  });

  it('compares KPL sub-sequence numbers', () => {
    const ranges = new SegmentRanges();
    const first = ranges.open('shard-1', at(10, 0));
    first.last = at(10, 4);
    ranges.close('shard-1', first);
    const second = ranges.open('shard-1', at(10, 5));
    second.last = at(11, 0);
    ranges.close('shard-1', second);
    expect(ranges.safeCheckpoint('shard-1', at(10, 7))).toEqual(at(10, 4));
  });

  it('forgets a discarded open segment and its predecessor link', () => {
    const ranges = new SegmentRanges();
    segment(ranges, 10, 20);
    const open = ranges.open('shard-1', at(21));
    open.last = at(25);
    ranges.discard('shard-1', open);
    expect(ranges.safeCheckpoint('shard-1', at(20))).toEqual(at(20));
    const next = ranges.open('shard-1', at(21));
    expect(next.before).toBeNull();
  });

  it('leaves other shards alone', () => {
    const ranges = new SegmentRanges();
    segment(ranges, 10, 20);
    expect(ranges.safeCheckpoint('shard-2', at(15))).toEqual(at(15));
  });
  it('holds positions, never a record (its bytes are a view of its whole page)', () => {
    const ranges = new SegmentRanges();
    const first = userRecord({ sequenceNumber: '10', data: new Uint8Array(8) });
    const range = ranges.open('shard-1', first);
    const segment = new ShardSegment(first, range, 0);
    const encoded = { kind: 'csv', shape: null, line: 'a\n', bytes: 2 } as const;
    segment.add('dir/', encoded, first, noAck);
    segment.add(
      'dir/',
      encoded,
      userRecord({ sequenceNumber: '11', data: new Uint8Array(8) }),
      noAck,
    );
    ranges.close('shard-1', range);
    const next = ranges.open('shard-1', userRecord({ sequenceNumber: '12' }));
    for (const position of [range.first, range.last, next.first, next.before]) {
      expect(position).not.toHaveProperty('data');
    }
    expect(range.last).toEqual(at(11));
    expect(next.before).toEqual(at(11));
  });
});
