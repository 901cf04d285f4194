/**
 * The deterministic batch cutter of exactly-once S3 sinks. A segment is a run of one
 * shard's records; whether a record starts a new segment depends only on the segment so
 * far and on that record's own ApproximateArrivalTimestamp, never on the wall clock, so a
 * replay of the same records from the same starting record cuts at the same places.
 */

export interface SegmentLimits {
  /** Events (lines) per segment, over all its objects. */
  readonly maxRecords: number;
  /** Encoded bytes per segment (before compression), over all its objects. */
  readonly maxBytes: number;
  /** Length of the record-time windows a segment stays within. */
  readonly maxAgeMs: number;
}

/** What the cutter needs to know about the open segment. */
export interface SegmentStats {
  readonly firstArrivalMs: number;
  readonly events: number;
  readonly bytes: number;
}

const HOUR_MS = 3_600_000;

function hourStart(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/**
 * Record-time windows are absolute: `maxAgeMs`-long slots counted from the epoch, and no
 * segment spans two of them or two hours. Being absolute, they also realign a reader that
 * started somewhere else (a foreign checkpoint) at the next window boundary.
 */
function windowOf(ms: number, maxAgeMs: number): number {
  return Math.floor(ms / maxAgeMs);
}

/** The record time at which a segment's window closes: the next slot or hour boundary. */
export function windowEndMs(firstArrivalMs: number, maxAgeMs: number): number {
  return Math.min(
    (windowOf(firstArrivalMs, maxAgeMs) + 1) * maxAgeMs,
    hourStart(firstArrivalMs) + HOUR_MS,
  );
}

/** The segment already holds as much as it may: the next record, whatever it is, starts anew. */
export function isFull(segment: SegmentStats, limits: SegmentLimits): boolean {
  return segment.events >= limits.maxRecords || segment.bytes >= limits.maxBytes;
}

/**
 * Whether a record arriving (record time) at `arrivalMs` must start a new segment. Checked
 * once per record, before its first event is added: a record never straddles two segments.
 */
export function startsNewSegment(
  segment: SegmentStats,
  arrivalMs: number,
  limits: SegmentLimits,
): boolean {
  if (isFull(segment, limits)) return true;
  // Arrival times may step back a little: a step into an earlier window cuts as well.
  const first = segment.firstArrivalMs;
  return (
    windowOf(arrivalMs, limits.maxAgeMs) !== windowOf(first, limits.maxAgeMs) ||
    hourStart(arrivalMs) !== hourStart(first)
  );
}

/**
 * When an open segment may be written although no later record proved it complete.
 * A full segment: at once (any next record would start a new one). Otherwise only once the
 * shard has been quiet for `graceMs` (wall clock) and the wall clock is `graceMs` past the
 * segment's record-time window: a record that still belonged in it would have to have
 * reached Kinesis before the window closed and yet not have been read for `graceMs` since.
 * That case (a reader lagging by more than `graceMs`, or a clock that far ahead of
 * Kinesis's) is the documented exception where a replay may cut differently.
 */
export function idleCutDue(
  segment: SegmentStats,
  limits: SegmentLimits,
  clock: { readonly nowMs: number; readonly lastWriteMs: number; readonly graceMs: number },
): boolean {
  if (isFull(segment, limits)) return true;
  const { nowMs, lastWriteMs, graceMs } = clock;
  return (
    nowMs - lastWriteMs >= graceMs &&
    nowMs >= windowEndMs(segment.firstArrivalMs, limits.maxAgeMs) + graceMs
  );
}
