import type { Lease } from './lease.js';
import { multiStreamLeaseKey, parseMultiStreamLeaseKey } from './stream-identifier.js';

/**
 * Which leases of the table belong to one stream, and how its shards are keyed. A
 * single-stream table keys a lease by its shard id and holds no other stream; a KCL
 * multi-stream table keys it `<streamIdentifier>:<shardId>` and names the stream and the
 * shard in attributes of their own. Parent and child shard ids stay bare shard ids in
 * both (the KCL looks a parent's lease up under the child's stream).
 */
export interface LeaseScope {
  /** Null: the single-stream table. */
  readonly streamIdentifier: string | null;
  leaseKey(shardId: string): string;
  /** Whether a lease of the table is one of this stream's. */
  holds(lease: Lease): boolean;
  /** The shard a lease of this stream is for. */
  shardIdOf(lease: Lease): string;
}

export const SINGLE_STREAM_SCOPE: LeaseScope = {
  streamIdentifier: null,
  leaseKey: (shardId) => shardId,
  holds: () => true,
  shardIdOf: (lease) => lease.leaseKey,
};

export function multiStreamScope(streamIdentifier: string): LeaseScope {
  const identifierOf = (lease: Lease) =>
    lease.streamIdentifier ?? parseMultiStreamLeaseKey(lease.leaseKey)?.streamIdentifier;
  return {
    streamIdentifier,
    leaseKey: (shardId) => multiStreamLeaseKey(streamIdentifier, shardId),
    holds: (lease) => identifierOf(lease) === streamIdentifier,
    shardIdOf: (lease) =>
      lease.shardId ?? parseMultiStreamLeaseKey(lease.leaseKey)?.shardId ?? lease.leaseKey,
  };
}

/** A lease as the shard sync sees it: keyed by its shard id. */
export function toShardView(lease: Lease, scope: LeaseScope): Lease {
  return scope.streamIdentifier === null ? lease : { ...lease, leaseKey: scope.shardIdOf(lease) };
}

/** A lease the shard sync made (keyed by shard id), as the table holds it. */
export function fromShardView(lease: Lease, scope: LeaseScope): Lease {
  if (scope.streamIdentifier === null) return lease;
  return {
    ...lease,
    leaseKey: scope.leaseKey(lease.leaseKey),
    streamIdentifier: scope.streamIdentifier,
    shardId: lease.leaseKey,
  };
}
