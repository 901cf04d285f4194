import type { Checkpoint } from '../core/checkpoint.js';

/** One row of the KCL-compatible lease table, as the relay reads it. */
export interface Lease {
  readonly leaseKey: string;
  readonly leaseOwner: string | null;
  readonly leaseCounter: number;
  readonly checkpoint: Checkpoint;
  readonly ownerSwitchesSinceCheckpoint: number;
  readonly parentShardIds: readonly string[];
  readonly childShardIds: readonly string[];
  readonly startingHashKey: string | null;
  readonly endingHashKey: string | null;
  /** With an AT_TIMESTAMP checkpoint set by `checkpoint set --to <time>`: that time. */
  readonly checkpointTimestamp?: string | null;
  /**
   * KCL 3's graceful handoff: the owner handing the lease over (it finishes, checkpoints
   * and then removes this), while `leaseOwner` already names the next owner.
   */
  readonly checkpointOwner?: string | null;
  /**
   * A KCL multi-stream lease (config `streams:`): the stream as `account:stream:epoch`.
   * Absent in a single-stream table, whose lease key is the bare shard id.
   */
  readonly streamIdentifier?: string | null;
  /** A multi-stream lease's shard id (its key is `<streamIdentifier>:<shardId>`). */
  readonly shardId?: string | null;
}

/** KCL's attribute names, spelled exactly as the Java KCL writes them. */
export const LEASE_ATTRIBUTES = {
  key: 'leaseKey',
  owner: 'leaseOwner',
  counter: 'leaseCounter',
  checkpoint: 'checkpoint',
  checkpointSubSequence: 'checkpointSubSequenceNumber',
  ownerSwitches: 'ownerSwitchesSinceCheckpoint',
  parents: 'parentShardId',
  children: 'childShardIds',
  startingHashKey: 'startingHashKey',
  endingHashKey: 'endingHashKey',
  // Written by the KCL (two-phase checkpoints, KCL 3 handoff); kept in step as it does.
  pendingCheckpoint: 'pendingCheckpoint',
  pendingCheckpointSubSequence: 'pendingCheckpointSubSequenceNumber',
  pendingCheckpointState: 'pendingCheckpointState',
  checkpointOwner: 'checkpointOwner',
  // KCL multi-stream leases (DynamoDBMultiStreamLeaseSerializer): the serialized stream
  // identifier is kept under `streamName` "for legacy reasons", and the bare shard id.
  streamIdentifier: 'streamName',
  shardId: 'shardId',
  // KCL 3.5 keeps other entities (stream info, worker metrics) in the lease table too.
  entityType: 'entityType',
  // Ours, not the KCL's: the time of an operator-set AT_TIMESTAMP checkpoint.
  checkpointTimestamp: 'checkpointTimestamp',
} as const;
