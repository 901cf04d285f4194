import type { Logger } from '../observability/logger.js';
import type { Lease } from './lease.js';
import { fromShardView, toShardView, type LeaseScope } from './lease-scope.js';
import { isConditionFailure, type LeaseStore } from './lease-store.js';
import { leaseTableRepairs, leasesToCreate } from './shard-sync.js';
import type { LeaseStream } from './stream-scopes.js';

/**
 * One stream's shard sync against the lease table: creates the leases its shards lack
 * (new stream, or after a reshard), records finished shards' children, and deletes the
 * leases of finished shards the stream no longer lists. `table` is a fresh scan.
 */
export async function syncStreamLeases(
  store: LeaseStore,
  stream: LeaseStream,
  scope: LeaseScope,
  table: readonly Lease[],
  parentLog: Logger,
): Promise<void> {
  const shards = await stream.listShards();
  // The shard sync works on shard ids; the stream's own leases are seen that way.
  const own = table.filter((lease) => scope.holds(lease));
  const leases = own.map((lease) => toShardView(lease, scope));
  const log =
    scope.streamIdentifier === null ? parentLog : parentLog.child({ stream: stream.name });
  for (const lease of leasesToCreate(shards, leases, stream.initialPosition)) {
    if (await store.createLeaseIfAbsent(fromShardView(lease, scope))) {
      log.info(
        { shardId: lease.leaseKey, checkpoint: lease.checkpoint, parents: lease.parentShardIds },
        'lease created',
      );
    }
  }
  const repairs = leaseTableRepairs(shards, leases);
  for (const { shardId, children } of repairs.childShardIds) {
    await store.setChildShardIds(scope.leaseKey(shardId), children);
  }
  for (const removable of repairs.removable) {
    const lease = own.find((candidate) => scope.shardIdOf(candidate) === removable.leaseKey);
    if (!lease) continue;
    try {
      await store.deleteLease(lease);
      log.info({ shardId: removable.leaseKey }, 'lease of a finished, trimmed shard deleted');
    } catch (error) {
      // Changed since the scan (taken, checkpointed): the next sync looks again.
      if (!isConditionFailure(error)) throw error;
    }
  }
}
