import { monotonicNow, type MonotonicClock } from '../core/clock.js';
import type { Logger } from '../observability/logger.js';
import type { Lease } from './lease.js';

/**
 * How long a worker that asked for a lease waits for its owner to hand it over before
 * taking it outright: 30 s (KCL 3's default), at least 3 x failoverMs. The owner renews
 * meanwhile, so waiting is safe and costs nothing but balancing speed; an owner that
 * stopped renewing (crashed, or a version that does not hand over) is taken as soon as
 * its lease expires.
 */
export function handoffTimeoutMs(failoverMs: number): number {
  return Math.max(30_000, 3 * failoverMs);
}

/**
 * How long the owner lets in-flight records be delivered before it checkpoints and hands
 * over: the handoff timeout less the time to notice the request (a renew interval and a
 * call) and to write the checkpoint and the handoff (two calls), with room to spare.
 */
export function handoffDrainMs(failoverMs: number): number {
  return handoffTimeoutMs(failoverMs) - 1.5 * failoverMs;
}

/** What to do with the leases in this worker's id that this process does not hold. */
export interface OwnLeaseReview {
  /** Ours to take at once: left from a restart, given to us, handed over, or overdue. */
  readonly claim: readonly Lease[];
  /** In our id but renewed by another process (same id): taken only once expired. */
  readonly foreign: readonly Lease[];
}

/**
 * The rules for leases in this worker's id that this process does not hold, whichever
 * read found them (a scan of the table, or the owner index and a GetItem per lease).
 *
 * Such a lease is ours at once when left from before a restart (as in the KCL), given to
 * us by a worker that released it, handed over to us (checkpointOwner gone) or a handoff
 * that timed out. One this process lost to a conditional write but still in our id is
 * someone else's (another process using the same id, or an operator's `checkpoint set
 * --force`): it is taken only once expired, like any other, until a read shows it with
 * another owner (then whoever gives it back to us later means it).
 */
export class OwnLeases {
  /** Leases this process held and lost (not released): not ours to re-take at once. */
  private readonly lostHere = new Set<string>();
  /** Counters last seen on leases in our name that this process does not hold. */
  private readonly unheldCounters = new Map<string, number>();
  private duplicateIdReported = false;
  /** Handoffs this worker asked for and waits on: lease key -> when first seen pending. */
  private readonly handoffsAsked = new Map<string, number>();

  constructor(
    private readonly workerId: string,
    private readonly failoverMs: number,
    private readonly log: Logger,
    private readonly now: MonotonicClock = monotonicNow,
  ) {}

  lost(leaseKey: string): void {
    this.lostHere.add(leaseKey);
  }

  taken(leaseKey: string): void {
    this.lostHere.delete(leaseKey);
  }

  /** A handoff this worker just asked for. */
  asked(leaseKey: string): void {
    this.handoffsAsked.set(leaseKey, this.now());
  }

  /**
   * Reviews a read of the table. `leases` must hold every lease in our id that this
   * process does not hold (others may be there too): what is missing is forgotten.
   * `expired`: the keys the expiry tracker saw expired in this read, if it watched them.
   */
  review(
    leases: readonly Lease[],
    holds: (leaseKey: string) => boolean,
    expired: ReadonlySet<string>,
  ): OwnLeaseReview {
    for (const lease of leases)
      if (lease.leaseOwner !== this.workerId) this.lostHere.delete(lease.leaseKey);
    const handedToUs = new Set(this.handoffsAsked.keys());
    const overdue = this.handoffsOverdue(leases, holds, expired);
    this.watchOwnId(leases, holds);
    const ours = leases.filter(
      (lease) =>
        lease.leaseOwner === this.workerId &&
        !holds(lease.leaseKey) &&
        lease.checkpoint !== 'SHARD_END',
    );
    const claim = ours.filter((lease) =>
      lease.checkpointOwner
        ? overdue.has(lease.leaseKey)
        : !this.lostHere.has(lease.leaseKey) || handedToUs.has(lease.leaseKey),
    );
    const foreign = ours.filter((lease) => !lease.checkpointOwner && !claim.includes(lease));
    return { claim, foreign };
  }

  /**
   * A lease in our worker id that this process does not hold, whose counter moves between
   * our reads, is renewed by another process using the same id: say so, loudly, once.
   */
  private watchOwnId(leases: readonly Lease[], holds: (leaseKey: string) => boolean): void {
    const seen = new Set<string>();
    for (const lease of leases) {
      const { leaseKey, leaseCounter } = lease;
      if (lease.leaseOwner !== this.workerId || holds(leaseKey)) continue;
      if (lease.checkpointOwner) continue;
      seen.add(leaseKey);
      const before = this.unheldCounters.get(leaseKey);
      this.unheldCounters.set(leaseKey, leaseCounter);
      if (before === undefined || before === leaseCounter || this.duplicateIdReported) continue;
      this.duplicateIdReported = true;
      this.log.error(
        { shardId: leaseKey, workerId: this.workerId },
        'another process renews leases under this worker id: leases.workerId must be unique per process (leave it unset for hostname + random suffix)',
      );
    }
    for (const key of this.unheldCounters.keys())
      if (!seen.has(key)) this.unheldCounters.delete(key);
  }

  /**
   * Tracks the handoffs asked of other workers (leaseOwner = us, checkpointOwner = them)
   * and returns those not completed in time: they are taken outright.
   */
  private handoffsOverdue(
    leases: readonly Lease[],
    holds: (leaseKey: string) => boolean,
    expired: ReadonlySet<string>,
  ): Set<string> {
    const now = this.now();
    const pending = new Set<string>();
    const overdue = new Set<string>();
    for (const lease of leases) {
      const { leaseKey, leaseOwner, checkpointOwner } = lease;
      if (leaseOwner !== this.workerId || !checkpointOwner) continue;
      if (checkpointOwner === leaseOwner || holds(leaseKey)) continue;
      pending.add(leaseKey);
      const askedAt = this.handoffsAsked.get(leaseKey) ?? now;
      this.handoffsAsked.set(leaseKey, askedAt);
      if (expired.has(leaseKey) || now - askedAt > handoffTimeoutMs(this.failoverMs)) {
        this.log.warn(
          { shardId: leaseKey, owner: checkpointOwner },
          'the owner did not hand the lease over in time; taking it',
        );
        overdue.add(leaseKey);
      }
    }
    for (const key of this.handoffsAsked.keys())
      if (!pending.has(key)) this.handoffsAsked.delete(key);
    return overdue;
  }
}
