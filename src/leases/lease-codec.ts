import {
  CHECKPOINT_SENTINELS,
  isSentinel,
  type Checkpoint,
  type CheckpointSentinel,
} from '../core/checkpoint.js';
import { LEASE_ATTRIBUTES as A, type Lease } from './lease.js';

/** A lease row as lib-dynamodb returns it (numbers as numbers, string sets as Sets). */
export type LeaseItem = Record<string, unknown>;

export function leaseFromItem(item: LeaseItem): Lease {
  const checkpointText = String(item[A.checkpoint] ?? 'TRIM_HORIZON');
  const checkpoint: Checkpoint = (CHECKPOINT_SENTINELS as readonly string[]).includes(
    checkpointText,
  )
    ? (checkpointText as CheckpointSentinel)
    : {
        sequenceNumber: checkpointText,
        subSequenceNumber: Number(item[A.checkpointSubSequence] ?? 0),
      };
  return {
    leaseKey: String(item[A.key]),
    leaseOwner: typeof item[A.owner] === 'string' ? (item[A.owner] as string) : null,
    leaseCounter: Number(item[A.counter] ?? 0),
    checkpoint,
    ownerSwitchesSinceCheckpoint: Number(item[A.ownerSwitches] ?? 0),
    parentShardIds: stringSet(item[A.parents]),
    childShardIds: stringSet(item[A.children]),
    startingHashKey:
      typeof item[A.startingHashKey] === 'string' ? String(item[A.startingHashKey]) : null,
    checkpointTimestamp:
      typeof item[A.checkpointTimestamp] === 'string' ? String(item[A.checkpointTimestamp]) : null,
    checkpointOwner:
      typeof item[A.checkpointOwner] === 'string' ? String(item[A.checkpointOwner]) : null,
    endingHashKey: typeof item[A.endingHashKey] === 'string' ? String(item[A.endingHashKey]) : null,
    ...(typeof item[A.streamIdentifier] === 'string'
      ? {
          streamIdentifier: item[A.streamIdentifier] as string,
          shardId: typeof item[A.shardId] === 'string' ? (item[A.shardId] as string) : null,
        }
      : {}),
  };
}

/**
 * KCL 3.5 stores other entities in the lease table (`entityType` STREAM, LEADER,
 * WORKER_METRIC_STATS ...); a lease has none (KCL before 3.5) or `LEASE`.
 */
export function isLeaseItem(item: LeaseItem): boolean {
  const type = item[A.entityType];
  return type === undefined || type === null || type === 'LEASE';
}

export function itemFromLease(lease: Lease): LeaseItem {
  const item: LeaseItem = {
    [A.key]: lease.leaseKey,
    [A.counter]: lease.leaseCounter,
    ...checkpointAttributes(lease.checkpoint),
    [A.ownerSwitches]: lease.ownerSwitchesSinceCheckpoint,
  };
  if (lease.leaseOwner) item[A.owner] = lease.leaseOwner;
  // DynamoDB rejects empty sets: an absent attribute means "none", as in the KCL.
  if (lease.parentShardIds.length > 0) item[A.parents] = new Set(lease.parentShardIds);
  if (lease.childShardIds.length > 0) item[A.children] = new Set(lease.childShardIds);
  if (lease.startingHashKey) item[A.startingHashKey] = lease.startingHashKey;
  if (lease.endingHashKey) item[A.endingHashKey] = lease.endingHashKey;
  // Multi-stream leases only: a single-stream table keeps exactly its old attributes.
  if (lease.streamIdentifier) {
    item[A.streamIdentifier] = lease.streamIdentifier;
    if (lease.shardId) item[A.shardId] = lease.shardId;
  }
  return item;
}

/** The two attributes that hold a checkpoint, as the KCL writes them. */
export function checkpointAttributes(checkpoint: Checkpoint): LeaseItem {
  return isSentinel(checkpoint)
    ? { [A.checkpoint]: checkpoint, [A.checkpointSubSequence]: 0 }
    : {
        [A.checkpoint]: checkpoint.sequenceNumber,
        [A.checkpointSubSequence]: checkpoint.subSequenceNumber,
      };
}

function stringSet(value: unknown): string[] {
  if (value instanceof Set) return [...value].map(String).sort();
  if (Array.isArray(value)) return value.map(String).sort();
  return [];
}
