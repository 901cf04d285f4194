import type { RecordPosition } from './record.js';

/** KCL's checkpoint sentinels, stored verbatim in the lease table's `checkpoint` column. */
export const CHECKPOINT_SENTINELS = [
  'TRIM_HORIZON',
  'LATEST',
  'AT_TIMESTAMP',
  'SHARD_END',
] as const;
export type CheckpointSentinel = (typeof CHECKPOINT_SENTINELS)[number];

/** Where a shard stands: a sentinel, or the last record every sink has acknowledged. */
export type Checkpoint = CheckpointSentinel | RecordPosition;

export function isSentinel(checkpoint: Checkpoint): checkpoint is CheckpointSentinel {
  return typeof checkpoint === 'string';
}

export function describeCheckpoint(checkpoint: Checkpoint): string {
  return isSentinel(checkpoint)
    ? checkpoint
    : `${checkpoint.sequenceNumber}/${checkpoint.subSequenceNumber}`;
}

/**
 * Where a shard that started at LATEST began reading, written before its first record:
 * stored as the `AT_TIMESTAMP` sentinel with its time in `checkpointTimestamp`, so the next
 * owner starts there and not at the tip of its own start (a lease left at LATEST lost
 * every record put between two owners, and those the first read and did not deliver).
 */
export interface PinnedStart {
  readonly atTimestamp: Date;
}

/** What a shard loop writes to its lease: a checkpoint, or the pinned start of a LATEST one. */
export type CheckpointWrite = Checkpoint | PinnedStart;

export function isPinnedStart(write: CheckpointWrite): write is PinnedStart {
  return typeof write === 'object' && 'atTimestamp' in write;
}

/** Moves a shard's checkpoint; throws LeaseLostError when the lease is no longer ours. */
export interface CheckpointWriter {
  write(shardId: string, checkpoint: CheckpointWrite): Promise<void>;
}
