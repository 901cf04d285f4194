import { sleep } from '../core/backoff.js';
import type { MonotonicClock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Lease } from './lease.js';
import type { LeaseRenewer } from './lease-renewer.js';
import { isConditionFailure, type LeaseStore } from './lease-store.js';
import { chooseReceiver, liveWorkerLoads } from './release-receiver.js';

export interface LeaseReleaserOptions {
  readonly workerId: string;
  /** How often a receiver looks for leases given to it. */
  readonly claimIntervalMs: number;
  readonly maxLeasesPerWorker: number | null;
  readonly random?: () => number;
  readonly now: MonotonicClock;
}

/** What the coordinator last read of the table. */
export interface ReleaseView {
  /** The latest scan, or undefined before the first. */
  readonly leases: readonly Lease[] | undefined;
  /** The leases the latest pass that watched the whole table saw expired. */
  readonly expired: ReadonlySet<string>;
}

/**
 * Gives held leases up so another worker resumes them at once: during a handoff to the
 * worker that asked; else to the least loaded live worker of the latest scan (KCL 3's
 * lease assignment), which finds it in its name at its next claim pass; else to nobody.
 * On shutdown it then watches the receivers take them, and passes on a lease whose
 * receiver does not (it is stopping too, or gone).
 */
export class LeaseReleaser {
  /** Leases given to a live worker on shutdown, until it is seen to take them. */
  private readonly given = new Map<string, { receiver: string; counter: number }>();
  /** Live workers' loads for receivers: from the latest scan, plus what we gave since. */
  private receiverLoads: { scan: readonly Lease[]; loads: Map<string, number> } | undefined;

  constructor(
    private readonly store: LeaseStore,
    private readonly renewer: LeaseRenewer,
    private readonly options: LeaseReleaserOptions,
    private readonly view: () => ReleaseView,
    /** Whether a lease of the table is one of this application's streams. */
    private readonly belongs: (lease: Lease) => boolean,
    private readonly log: Logger,
  ) {}

  /** Gives one held lease up; on shutdown, remembers it for `confirmReleases`. */
  async release(leaseKey: string, shuttingDown: boolean): Promise<void> {
    const receiver = this.renewer.handoffTarget(leaseKey) === null ? this.chooseReceiver() : null;
    const counter = await this.renewer.release(leaseKey, receiver);
    if (receiver !== null && shuttingDown) this.given.set(leaseKey, { receiver, counter });
  }

  /** Gives every held lease up; every release is tried, the first failure is thrown. */
  async releaseAll(shuttingDown: boolean): Promise<void> {
    const results = await Promise.allSettled(
      this.renewer.heldShardIds().map((key) => this.release(key, shuttingDown)),
    );
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * Shutdown, after `releaseAll`: the leases in our name that this process does not hold,
   * from `scan`. A handoff we asked for and the owner has not finished is withdrawn (the
   * lease stays with that owner); one finished, or a lease given to us, that we have not
   * taken yet goes to a live worker as our own would (or to nobody). Left alone, either
   * waited in our name for the failover time after we were gone: a worker stopped right
   * after a rebalancing left its shards unread that long (chaos: scale 3 → 2).
   */
  async passOnUnclaimed(scan: readonly Lease[]): Promise<void> {
    const { workerId } = this.options;
    const unclaimed = scan.filter(
      (lease) =>
        lease.leaseOwner === workerId &&
        lease.checkpoint !== 'SHARD_END' &&
        !this.renewer.holds(lease.leaseKey) &&
        this.belongs(lease),
    );
    await Promise.all(unclaimed.map((lease) => this.passOn(lease)));
  }

  private async passOn(seen: Lease): Promise<void> {
    const { workerId } = this.options;
    let lease: Lease | null = seen;
    // A race with the owner finishing its handoff changes the case: read and try again.
    for (let attempt = 0; attempt < 3 && lease; attempt += 1) {
      if (lease.leaseOwner !== workerId || this.renewer.holds(lease.leaseKey)) return;
      const key: string = lease.leaseKey;
      try {
        if (lease.checkpointOwner) {
          await this.store.withdrawHandoff(key, workerId, lease.checkpointOwner);
          this.log.info(
            { shardId: key, owner: lease.checkpointOwner },
            'stopping: a handoff asked for this worker is withdrawn',
          );
          return;
        }
        const receiver = this.chooseReceiver();
        if (receiver === null) await this.store.release(key, workerId, lease.leaseCounter);
        else {
          await this.store.assign(key, workerId, lease.leaseCounter, receiver);
          this.given.set(key, { receiver, counter: lease.leaseCounter + 1 });
        }
        this.log.info(
          { shardId: key, nextOwner: receiver ?? undefined },
          'stopping: a lease given to this worker and not taken yet is passed on',
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) {
          this.log.warn({ shardId: key, err: errorMessage(error) }, 'passing a lease on failed');
          return;
        }
        lease = await this.store.getLease(key).catch(() => null);
      }
    }
  }

  /**
   * Waits (until `deadline`, monotonic) for the workers given leases on shutdown to take
   * them. A receiver that has not taken its lease within two claim intervals is stopping
   * too (several replicas stopping at once) or gone: the lease goes to another live
   * worker, or to nobody when none is left, instead of waiting in its name for the
   * failover time. Every write is conditional on the receiver and the counter we wrote.
   */
  async confirmReleases(deadline: number): Promise<void> {
    const { now, claimIntervalMs } = this.options;
    const patienceMs = 2 * claimIntervalMs;
    const passedOver = new Set<string>();
    const since = new Map([...this.given.keys()].map((key) => [key, now()]));
    while (this.given.size > 0 && now() < deadline) {
      await sleep(Math.min(claimIntervalMs / 2, Math.max(0, deadline - now())));
      for (const [key, { receiver, counter }] of [...this.given]) {
        try {
          const lease = await this.store.getLease(key);
          if (lease?.leaseOwner !== receiver || lease.leaseCounter !== counter) {
            this.given.delete(key); // taken (or moved on): done
            continue;
          }
          if (now() - (since.get(key) ?? 0) < patienceMs) continue;
          passedOver.add(receiver);
          const next = this.chooseReceiver(passedOver);
          this.given.delete(key);
          if (next === null) await this.store.release(key, receiver, counter);
          else await this.store.assign(key, receiver, counter, next);
          this.log.info(
            { shardId: key, receiver, nextOwner: next },
            'a released lease was not taken by its receiver; passed on',
          );
          if (next !== null) {
            this.given.set(key, { receiver: next, counter: counter + 1 });
            since.set(key, now());
          }
        } catch (error) {
          // Taken meanwhile (a condition failure), or a failed read: looked at again.
          if (!isConditionFailure(error))
            this.log.warn({ shardId: key, err: errorMessage(error) }, 'checking a release failed');
        }
      }
    }
  }

  private chooseReceiver(passedOver: ReadonlySet<string> = new Set()): string | null {
    const { leases: scan, expired } = this.view();
    if (!scan) return null;
    if (this.receiverLoads?.scan !== scan) {
      const leases = scan.filter((lease) => this.belongs(lease));
      const loads = liveWorkerLoads(leases, expired, this.options.workerId);
      this.receiverLoads = { scan, loads };
    }
    const { loads } = this.receiverLoads;
    const candidates = new Map([...loads].filter(([worker]) => !passedOver.has(worker)));
    const { maxLeasesPerWorker, random } = this.options;
    const receiver = chooseReceiver(candidates, maxLeasesPerWorker, random);
    if (receiver !== null) loads.set(receiver, (loads.get(receiver) ?? 0) + 1);
    return receiver;
  }
}
