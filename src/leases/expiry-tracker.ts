import type { Lease } from './lease.js';

/**
 * Decides which leases are expired the way the KCL does: a lease whose `leaseCounter` has
 * not changed for `failoverMs` of this worker's own clock. Comparing counters, not
 * timestamps written by other hosts, keeps clock skew between workers out of it.
 */
export class ExpiryTracker {
  private readonly seen = new Map<string, { counter: number; since: number }>();

  constructor(
    private readonly failoverMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a scan of the table and returns the keys of the expired leases. */
  observe(leases: readonly Lease[]): Set<string> {
    const now = this.now();
    const expired = new Set<string>();
    const present = new Set<string>();
    for (const lease of leases) {
      present.add(lease.leaseKey);
      const previous = this.seen.get(lease.leaseKey);
      if (!previous || previous.counter !== lease.leaseCounter) {
        this.seen.set(lease.leaseKey, { counter: lease.leaseCounter, since: now });
      } else if (now - previous.since > this.failoverMs) {
        expired.add(lease.leaseKey);
      }
    }
    for (const key of this.seen.keys()) if (!present.has(key)) this.seen.delete(key);
    return expired;
  }
}
