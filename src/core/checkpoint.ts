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

/** Moves a shard's checkpoint; throws LeaseLostError when the lease is no longer ours. */
export interface CheckpointWriter {
  write(shardId: string, checkpoint: Checkpoint): Promise<void>;
}
