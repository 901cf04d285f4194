import type { Checkpoint } from '../core/checkpoint.js';
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
 * A shard with a leased descendant is finished already (its lease was cleaned up once
 * its children had started, as the KCL does): it gets no new lease, or it would be read
 * again from its start.
 */
export function leasesToCreate(
  shards: readonly ShardInfo[],
  existing: readonly Lease[],
  initialPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP',
): Lease[] {
  const leased = new Set(existing.map((lease) => lease.leaseKey));
  const known = new Set([...leased, ...shards.map((shard) => shard.shardId)]);
  const finished = ancestorsOfLeased(shards, existing);
  return shards
    .filter((shard) => !leased.has(shard.shardId) && !finished.has(shard.shardId))
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
  /**
   * Finished leases safe to delete: the stream no longer lists the shard (trimmed), or
   * every child has a lease that has checkpointed past its start (the KCL's cleanup of
   * completed shards), so nobody waits on the parent and nothing of it is read again.
   */
  readonly removable: readonly Lease[];
}

/** Sentinels a lease starts at: a child still at one of them has not begun. */
const NOT_STARTED: ReadonlySet<Checkpoint> = new Set(['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP']);

/** Every shard that is a parent, grandparent ... of a shard with a lease. */
function ancestorsOfLeased(shards: readonly ShardInfo[], leases: readonly Lease[]): Set<string> {
  const parentsOf = new Map<string, readonly string[]>();
  for (const shard of shards) parentsOf.set(shard.shardId, shard.parentShardIds);
  for (const lease of leases) {
    if (lease.parentShardIds.length > 0) parentsOf.set(lease.leaseKey, lease.parentShardIds);
  }
  const ancestors = new Set<string>();
  const pending = leases.flatMap((lease) => parentsOf.get(lease.leaseKey) ?? []);
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    if (ancestors.has(id)) continue;
    ancestors.add(id);
    pending.push(...(parentsOf.get(id) ?? []));
  }
  return ancestors;
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
  const byKey = new Map(leases.map((lease) => [lease.leaseKey, lease]));
  return {
    childShardIds: finished
      .filter((lease) => lease.childShardIds.length === 0 && childrenOf.has(lease.leaseKey))
      .map((lease) => ({
        shardId: lease.leaseKey,
        children: childrenOf.get(lease.leaseKey) ?? [],
      })),
    removable: finished.filter(
      (lease) =>
        !listed.has(lease.leaseKey) ||
        childrenStarted(childrenOf.get(lease.leaseKey) ?? lease.childShardIds, byKey),
    ),
  };
}

function childrenStarted(children: readonly string[], byKey: ReadonlyMap<string, Lease>) {
  return (
    children.length > 0 &&
    children.every((id) => {
      const child = byKey.get(id);
      return child !== undefined && !NOT_STARTED.has(child.checkpoint);
    })
  );
}
