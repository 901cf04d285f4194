import { monotonicNow, type MonotonicClock } from '../core/clock.js';
import type { Lease } from './lease.js';

/** When the scan behind an observation was sent (monotonic ms); by default, now. */
export interface ScanTiming {
  readonly sentAt: number;
  /**
   * How long scans may be apart before this worker counts itself blind; by default the
   * tracker's own (failoverMs). Scans every takeIntervalMs only (the owner index spares
   * the claim passes theirs) need room for that interval.
   */
  readonly maxGapMs?: number;
}

/**
 * Decides which leases are expired the way the KCL does: a lease whose `leaseCounter` has
 * not changed for `failoverMs` of this worker's own (monotonic) clock. Comparing
 * counters, not timestamps written by other hosts, keeps clock skew out of it.
 *
 * Only time this worker actually watched counts. An observation starts when the scan
 * that first saw a counter was answered (the owner may have renewed just before the
 * item was read) and ends when the latest scan was sent. If no scan succeeded for a whole
 * failover time (a throttled or unreachable DynamoDB, a frozen process), this worker has
 * not watched anything: every observation restarts, instead of everything expiring at
 * once when the scans come back. (Without the owner index scans run every renew interval,
 * a third of it; with it, every take interval, and the gap allowed is that interval plus
 * the failover time.)
 */
export class ExpiryTracker {
  private readonly seen = new Map<string, { counter: number; since: number }>();
  private lastScanAt: number | undefined;

  constructor(
    private readonly failoverMs: number,
    private readonly now: MonotonicClock = monotonicNow,
    private readonly maxScanGapMs: number = failoverMs,
  ) {}

  /** Records a scan of the table and returns the keys of the expired leases. */
  observe(leases: readonly Lease[], timing?: ScanTiming): Set<string> {
    const answeredAt = this.now();
    const sentAt = timing?.sentAt ?? answeredAt;
    const maxGapMs = timing?.maxGapMs ?? this.maxScanGapMs;
    const blind = this.lastScanAt !== undefined && sentAt - this.lastScanAt > maxGapMs;
    this.lastScanAt = sentAt;
    const expired = new Set<string>();
    const present = new Set<string>();
    for (const lease of leases) {
      present.add(lease.leaseKey);
      const previous = this.seen.get(lease.leaseKey);
      if (!previous || previous.counter !== lease.leaseCounter || blind) {
        this.seen.set(lease.leaseKey, { counter: lease.leaseCounter, since: answeredAt });
      } else if (sentAt - previous.since > this.failoverMs) {
        expired.add(lease.leaseKey);
      }
    }
    for (const key of this.seen.keys()) if (!present.has(key)) this.seen.delete(key);
    return expired;
  }
}
