import type { Lease } from './lease.js';

/**
 * The leases each live worker other than `self` owns, from one scan. A worker is live when
 * none of the leases it renews (its own, or the ones it is handing over as
 * `checkpointOwner`) is expired: one whose counter has stopped is gone, or going. Finished
 * leases (SHARD_END) are renewed by nobody and count for nothing.
 */
export function liveWorkerLoads(
  leases: readonly Lease[],
  expired: ReadonlySet<string>,
  self: string,
): Map<string, number> {
  const loads = new Map<string, number>();
  const dead = new Set<string>();
  for (const lease of leases) {
    if (lease.leaseOwner === null || lease.checkpoint === 'SHARD_END') continue;
    const renewedBy = lease.checkpointOwner ?? lease.leaseOwner;
    if (expired.has(lease.leaseKey)) dead.add(renewedBy);
    // A lease being handed over counts for the worker it goes to.
    loads.set(lease.leaseOwner, (loads.get(lease.leaseOwner) ?? 0) + 1);
  }
  for (const worker of [...dead, self]) loads.delete(worker);
  return loads;
}

/**
 * The worker a released lease goes to: the least loaded live one (ties broken at random),
 * below `maxLeasesPerWorker` if set; null when there is none. The caller counts the lease
 * in the receiver's load, so several releases in a row spread over the workers.
 */
export function chooseReceiver(
  loads: ReadonlyMap<string, number>,
  maxLeasesPerWorker: number | null,
  random: () => number = Math.random,
): string | null {
  let least: string[] = [];
  let leastLoad = Number.POSITIVE_INFINITY;
  for (const [worker, load] of loads) {
    if (maxLeasesPerWorker !== null && load >= maxLeasesPerWorker) continue;
    if (load < leastLoad) {
      least = [worker];
      leastLoad = load;
    } else if (load === leastLoad) least.push(worker);
  }
  return least[Math.floor(random() * least.length)] ?? null;
}
