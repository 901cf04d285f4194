import { describe, expect, it } from 'vitest';
import {
  idleCutDue,
  startsNewSegment,
  windowEndMs,
  type SegmentLimits,
  type SegmentStats,
} from './segment-rules.js';

const limits: SegmentLimits = { maxRecords: 3, maxBytes: 100, maxAgeMs: 60_000 };
const T0 = Date.parse('2026-01-02T03:10:00Z');

interface TestRecord {
  readonly id: number;
  readonly arrivalMs: number;
  readonly bytes: number;
}

/** The cutter as the sink drives it: a list of segments (record ids) for a record sequence. */
function cut(records: readonly TestRecord[]): number[][] {
  const segments: number[][] = [];
  let open: { stats: SegmentStats; ids: number[] } | null = null;
  for (const record of records) {
    if (open && startsNewSegment(open.stats, record.arrivalMs, limits)) {
      segments.push(open.ids);
      open = null;
    }
    open ??= { stats: { firstArrivalMs: record.arrivalMs, events: 0, bytes: 0 }, ids: [] };
    open.ids.push(record.id);
    open.stats = {
      ...open.stats,
      events: open.stats.events + 1,
      bytes: open.stats.bytes + record.bytes,
    };
  }
  if (open) segments.push(open.ids);
  return segments;
}

const at = (id: number, offsetMs: number, bytes = 10): TestRecord => ({
  id,
  arrivalMs: T0 + offsetMs,
  bytes,
});

describe('deterministic segment cutter', () => {
  it('cuts after maxRecords events', () => {
    expect(cut([at(1, 0), at(2, 1), at(3, 2), at(4, 3), at(5, 4)])).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('cuts once maxBytes is reached, never splitting a record', () => {
    expect(cut([at(1, 0, 60), at(2, 1, 60), at(3, 2, 10)])).toEqual([[1, 2], [3]]);
  });

  it('rotates on record time: maxAgeMs after the first record, not on the wall clock', () => {
    expect(cut([at(1, 0), at(2, 59_999), at(3, 60_000)])).toEqual([[1, 2], [3]]);
  });

  it('never lets a segment span an hour of record time, even stepping back', () => {
    const beforeHour = Date.parse('2026-01-02T03:59:59.500Z') - T0;
    const afterHour = Date.parse('2026-01-02T04:00:00.100Z') - T0;
    expect(cut([at(1, beforeHour), at(2, afterHour), at(3, beforeHour)])).toEqual([[1], [2], [3]]);
    expect(windowEndMs(T0 + beforeHour, 60_000)).toBe(Date.parse('2026-01-02T04:00:00Z'));
  });

  it('a replay from any segment start rebuilds the same later segments', () => {
    // A pseudo-random but fixed stream: gaps, sizes and bursts.
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    let time = 0;
    const records = Array.from({ length: 500 }, (_, id) => {
      time += Math.floor(random() * 30_000);
      return at(id, time, 5 + Math.floor(random() * 60));
    });
    const whole = cut(records);
    let start = 0;
    whole.forEach((segment, index) => {
      const replay = cut(records.slice(start));
      expect(replay).toEqual(whole.slice(index));
      start += segment.length;
    });
  });

  it('realigns a reader that started mid-segment at the next record-time window', () => {
    const records = Array.from({ length: 40 }, (_, id) => at(id, id * 7_000));
    const whole = cut(records);
    // Start at record 5, inside the segment [4..6] (0-62 s window is [0..8], cut by count).
    const replay = cut(records.slice(5));
    const windowStart = records.findIndex((r) => r.arrivalMs >= T0 + 120_000);
    const realigned = whole.findIndex((segment) => segment[0] === windowStart);
    expect(realigned).toBeGreaterThan(0);
    expect(replay.slice(replay.findIndex((segment) => segment[0] === windowStart))).toEqual(
      whole.slice(realigned),
    );
  });

  it('the idle flush waits for quiet and for the record-time window plus grace', () => {
    const open: SegmentStats = { firstArrivalMs: T0, events: 1, bytes: 10 };
    const graceMs = 5000;
    const windowEnd = T0 + limits.maxAgeMs;
    // Window plus grace passed, but a record came recently: a lagging reader, wait.
    expect(
      idleCutDue(open, limits, { nowMs: windowEnd + graceMs, lastWriteMs: windowEnd + 1, graceMs }),
    ).toBe(false);
    // Quiet, but the window is not yet graceMs behind the wall clock.
    expect(
      idleCutDue(open, limits, { nowMs: windowEnd + graceMs - 1, lastWriteMs: T0, graceMs }),
    ).toBe(false);
    expect(idleCutDue(open, limits, { nowMs: windowEnd + graceMs, lastWriteMs: T0, graceMs })).toBe(
      true,
    );
    // A full segment is complete whatever comes next.
    const full: SegmentStats = { firstArrivalMs: T0, events: 3, bytes: 30 };
    expect(idleCutDue(full, limits, { nowMs: T0, lastWriteMs: T0, graceMs })).toBe(true);
  });
});
