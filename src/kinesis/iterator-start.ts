import { isSentinel, type Checkpoint } from '../core/checkpoint.js';
import { comparePositions, type RecordPosition, type UserRecord } from '../core/record.js';
import type { IteratorStart } from './stream-api.js';

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
export function recordsAfter(
  records: readonly UserRecord[],
  after: RecordPosition | null,
): readonly UserRecord[] {
  if (!after) return records;
  const first = records.findIndex((record) => comparePositions(record, after) > 0);
  return first === -1 ? [] : first === 0 ? records : records.slice(first);
}
