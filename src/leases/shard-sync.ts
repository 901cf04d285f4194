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

/** What a shard sync changes in a lease table besides creating leases. */
export interface LeaseTableRepairs {
  /** Finished parents and the children the shard graph gives them (KCL's childShardIds). */
  readonly childShardIds: ReadonlyArray<{ shardId: string; children: string[] }>;
  /** Finished leases whose shards the stream no longer lists (trimmed): safe to delete. */
  readonly removable: readonly Lease[];
}

export function leaseTableRepairs(
  shards: readonly ShardInfo[],
  leases: readonly Lease[],
): LeaseTableRepairs {
  const listed = new Set(shards.map((shard) => shard.shardId));
  const childrenOf = new Map<string, string[]>();
  for (const shard of shards) {
    for (const parent of shard.parentShardIds) {
      childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), shard.shardId]);
    }
  }
  const finished = leases.filter((lease) => lease.checkpoint === 'SHARD_END');
  return {
    childShardIds: finished
      .filter((lease) => lease.childShardIds.length === 0 && childrenOf.has(lease.leaseKey))
      .map((lease) => ({
        shardId: lease.leaseKey,
        children: childrenOf.get(lease.leaseKey) ?? [],
      })),
    removable: finished.filter((lease) => !listed.has(lease.leaseKey)),
  };
}
