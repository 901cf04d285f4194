import { isSentinel, type Checkpoint } from '../core/checkpoint.js';
import { comparePositions, type RecordPosition, type UserRecord } from '../core/record.js';
import { awsErrorName, errorMessage } from '../core/errors.js';
import type { IteratorStart, ShardReadApi } from './stream-api.js';

/**
 * Where to read from for a checkpoint. A sequence-number checkpoint restarts AT that
 * record and skips its sub-records up to the checkpointed one, as the KCL does: the
 * record may be a KPL aggregate that was only partly processed.
 */
export function iteratorStartFor(
  checkpoint: Exclude<Checkpoint, 'SHARD_END'>,
  initialTimestamp: Date | null,
): IteratorStart {
  if (!isSentinel(checkpoint)) {
    return { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: checkpoint.sequenceNumber };
  }
  if (checkpoint === 'AT_TIMESTAMP') {
    if (!initialTimestamp) throw new Error('checkpoint AT_TIMESTAMP needs stream.initialTimestamp');
    return { type: 'AT_TIMESTAMP', timestamp: initialTimestamp };
  }
  return { type: checkpoint };
}

/** Drops the records at or before `after` (the already-processed part of a restart). */
export function recordsAfter(records: UserRecord[], after: RecordPosition | null): UserRecord[] {
  if (!after) return records;
  const first = records.findIndex((record) => comparePositions(record, after) > 0);
  return first === -1 ? [] : first === 0 ? records : records.slice(first);
}

/** The sequence number a start names, if it names one. */
export function sequenceOf(start: IteratorStart): string | null {
  return start.type === 'AT_SEQUENCE_NUMBER' || start.type === 'AFTER_SEQUENCE_NUMBER'
    ? start.sequenceNumber
    : null;
}

export interface OpenedIterator {
  readonly iterator: string;
  /** Set when the start record was trimmed and the iterator is at TRIM_HORIZON instead. */
  readonly trimmed: { readonly sequenceNumber: string; readonly reason: string } | null;
}

/**
 * GetShardIterator for `from`. A sequence-number start whose record Kinesis no longer
 * holds (older than the retention: InvalidArgumentException on AWS,
 * ResourceNotFoundException on kinesis-mock) resumes at TRIM_HORIZON instead of failing
 * forever or finishing the shard. If TRIM_HORIZON fails too, the shard itself is gone: that
 * error is the caller's.
 */
export async function openIterator(
  api: ShardReadApi,
  shardId: string,
  from: IteratorStart,
  signal: AbortSignal,
): Promise<OpenedIterator> {
  try {
    return { iterator: await api.getShardIterator(shardId, from, signal), trimmed: null };
  } catch (error) {
    const name = awsErrorName(error);
    const sequenceNumber = sequenceOf(from);
    if (
      signal.aborted ||
      sequenceNumber === null ||
      (name !== 'InvalidArgumentException' && name !== 'ResourceNotFoundException')
    ) {
      throw error;
    }
    const iterator = await api.getShardIterator(shardId, { type: 'TRIM_HORIZON' }, signal);
    return { iterator, trimmed: { sequenceNumber, reason: `${name}: ${errorMessage(error)}` } };
  }
}

/**
 * How far before a LATEST start the time it is pinned at reaches back: the host's clock
 * against the arrival times Kinesis stamps (NTP keeps them milliseconds apart; this covers
 * a host that drifted). Records put up to this long before the start are read too: more
 * than LATEST promised, never less.
 */
export const LATEST_START_MARGIN_MS = 5_000;

/**
 * The time a LATEST start is pinned at, taken before its iterator or subscription opens
 * (wall clock: Kinesis compares it with arrival times). Re-opens while nothing was handed
 * over, and the next owner while no checkpoint was written, start AT_TIMESTAMP there.
 */
export function latestStartTime(): Date {
  return new Date(Date.now() - LATEST_START_MARGIN_MS);
}
