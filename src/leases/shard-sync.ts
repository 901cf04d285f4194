import type { Lease } from './lease.js';

export interface ShardInfo {
  readonly shardId: string;
  readonly parentShardIds: readonly string[];
  readonly startingHashKey: string;
  readonly endingHashKey: string;
}

/**
 * The leases to create for shards that have none. A shard whose parent is known (listed,
 * or still in the lease table) starts at TRIM_HORIZON so nothing between the parent's
 * end and the child's start is skipped; a root shard starts at the configured position.
 */
export function leasesToCreate(
  shards: readonly ShardInfo[],
  existing: readonly Lease[],
  initialPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP',
): Lease[] {
  const leased = new Set(existing.map((lease) => lease.leaseKey));
  const known = new Set([...leased, ...shards.map((shard) => shard.shardId)]);
  return shards
    .filter((shard) => !leased.has(shard.shardId))
    .map((shard) => {
      const parents = shard.parentShardIds.filter((id) => known.has(id));
      return {
        leaseKey: shard.shardId,
        leaseOwner: null,
        leaseCounter: 0,
        checkpoint: parents.length > 0 ? 'TRIM_HORIZON' : initialPosition,
        ownerSwitchesSinceCheckpoint: 0,
        parentShardIds: parents,
        childShardIds: [],
        startingHashKey: shard.startingHashKey,
        endingHashKey: shard.endingHashKey,
      };
    });
}
