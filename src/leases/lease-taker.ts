import type { MonotonicClock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { RelayMetrics } from '../observability/metrics.js';
import type { Lease } from './lease.js';
import type { LeaseRenewer } from './lease-renewer.js';
import { isConditionFailure, type LeaseStore } from './lease-store.js';
import type { OwnLeases } from './own-leases.js';
import type { LeasedShard } from './stream-scopes.js';

export interface LeaseTakerOptions {
  readonly workerId: string;
  readonly maxLeasesPerWorker: number | null;
  readonly now: MonotonicClock;
  /** The stream and shard id a lease of this table stands for. */
  readonly shardOf: (lease: Lease) => LeasedShard;
  /** True once the coordinator stopped: nothing more is taken or asked for. */
  readonly stopped: () => boolean;
  /** A lease was taken: its consumer starts. */
  readonly acquired: (lease: Lease, shard: LeasedShard) => void;
}

/**
 * The writes by which this worker comes to hold a lease: a take (conditional on the
 * counter it read), a claim of the leases that are ours at once, and a balancing steal
 * asked of the owner as a handoff. Which leases to take is the coordinator's decision.
 */
export class LeaseTaker {
  constructor(
    private readonly store: LeaseStore,
    private readonly renewer: LeaseRenewer,
    private readonly own: OwnLeases,
    private readonly options: LeaseTakerOptions,
    private readonly log: Logger,
    private readonly metrics: RelayMetrics,
  ) {}

  /** Takes a lease; false when it changed first or the call failed (the next pass retries). */
  async take(lease: Lease, change: 'taken' | 'stolen'): Promise<boolean> {
    if (this.options.stopped()) return false;
    const { workerId } = this.options;
    try {
      const sentAt = this.options.now();
      const counter = await this.store.take(lease, workerId);
      // Held from when the take was sent: others see its counter no earlier than that.
      this.renewer.add(lease.leaseKey, counter, sentAt);
      this.own.taken(lease.leaseKey);
      this.metrics.leaseChanges.inc({ change });
      this.updateOwnedGauge();
      this.log.info(
        { shardId: lease.leaseKey, previousOwner: lease.leaseOwner, change },
        'lease acquired',
      );
      this.options.acquired(
        { ...lease, leaseOwner: workerId, leaseCounter: counter },
        this.options.shardOf(lease),
      );
      return true;
    } catch (error) {
      this.logFailure(
        error,
        lease,
        'lease changed before we could take it',
        'taking a lease failed',
      );
      return false;
    }
  }

  /**
   * Takes the leases that are ours at once (given to us, handed over, left from a
   * restart), within maxLeasesPerWorker; returns the keys taken.
   */
  async claim(leases: readonly Lease[]): Promise<Set<string>> {
    const max = this.options.maxLeasesPerWorker;
    const room = max === null ? leases.length : max - this.renewer.heldShardIds().length;
    const claimed = new Set<string>();
    for (const lease of leases.slice(0, Math.max(0, room)))
      if (await this.take(lease, 'taken')) claimed.add(lease.leaseKey);
    return claimed;
  }

  /**
   * A balancing steal, done as KCL 3 does it: the owner is asked to hand the lease over
   * and keeps it until it has checkpointed what it delivered, so nothing is read twice.
   */
  async askHandoff(lease: Lease): Promise<void> {
    if (this.options.stopped()) return;
    try {
      await this.store.requestHandoff(lease, this.options.workerId);
      this.own.asked(lease.leaseKey);
      this.metrics.leaseChanges.inc({ change: 'stolen' });
      this.log.info(
        { shardId: lease.leaseKey, owner: lease.leaseOwner },
        'lease handoff asked (balancing)',
      );
    } catch (error) {
      this.logFailure(
        error,
        lease,
        'lease changed before we could ask for it',
        'asking for a lease failed',
      );
    }
  }

  /** A lost race (the lease changed first) is routine; any other failure is worth a warning. */
  private logFailure(error: unknown, lease: Lease, changed: string, failed: string): void {
    if (isConditionFailure(error)) this.log.debug({ shardId: lease.leaseKey }, changed);
    else this.log.warn({ shardId: lease.leaseKey, err: errorMessage(error) }, failed);
  }

  updateOwnedGauge(): void {
    this.metrics.leasesOwned.set(this.renewer.heldShardIds().length);
  }
}
