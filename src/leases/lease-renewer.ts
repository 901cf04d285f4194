import type { CheckpointWrite } from '../core/checkpoint.js';
import { monotonicNow, type MonotonicClock } from '../core/clock.js';
import { LeaseLostError, awsErrorName, errorMessage } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import { isConditionFailure, type LeaseRenewal, type LeaseStore } from './lease-store.js';

interface HeldLease {
  readonly shardId: string;
  counter: number;
  /**
   * Monotonic time at which this worker stops reading the shard unless a write succeeds
   * first: the send time of the last successful write + failoverMs - the safety margin.
   * Another worker can only consider the lease expired failoverMs after it saw that
   * write's counter, and it cannot have seen it before the write was sent.
   */
  readUntil: number;
  nextRenewalAt: number;
  /** Reading stopped (renewals failed for too long); a successful write resumes it. */
  pausedAt: number | null;
  /** Writes queued or in flight; a renewal is never queued behind one. */
  writes: number;
  /** Writes (renewals and checkpoints) failed in a row, not on their condition. */
  failedWrites: number;
  /** A graceful handoff was asked (KCL 3's checkpointOwner = us): the next owner. */
  handoffTo: string | null;
  /** Writes to one lease run one at a time: each must expect the counter of the last. */
  chain: Promise<unknown>;
}

export interface LeaseRenewerOptions {
  readonly workerId: string;
  readonly renewIntervalMs: number;
  readonly failoverMs: number;
  /**
   * How long a lease not renewed in time may stay paused before it is lost; 0 loses it at
   * once. Default: no limit (it is lost when a write fails its condition: another worker
   * took it). The relay passes 0 with an exactly-once S3 sink: its open segment of the
   * shard must be dropped before another owner could write the same key.
   */
  readonly maxPauseMs?: number;
  /** Monotonic milliseconds; a test passes its own. */
  readonly now?: MonotonicClock;
}

/** What the shard loop of a lease should do: stop for good, pause reading, or read again. */
export interface LeaseStateListener {
  lost?(shardId: string, reason: string): void;
  paused?(shardId: string): void;
  resumed?(shardId: string): void;
  handoff?(shardId: string, nextOwner: string): void;
}

/**
 * How long before the failover time an owner stops reading: event-loop lag, a GetRecords
 * answer already on its way, and the difference in clock rates between hosts.
 */
export function selfExpiryMarginMs(failoverMs: number): number {
  return Math.max(100, Math.floor(failoverMs / 10));
}

/**
 * Keeps this worker's leases alive on its own timer, so a slow sink never costs a lease,
 * and performs every other write to a held lease (checkpoint, release) in order with the
 * renewals. Every successful conditional write (renewal, checkpoint, take) renews.
 *
 * Self-expiry runs on the same timer and never waits on a call in flight: a lease not
 * renewed in time is _paused_ (its shard stops reading) before any other worker could see
 * it expired on its own clock. Renewals go on meanwhile; one that succeeds proves nobody
 * took the lease (it is conditional on the counter), and reading resumes where it stopped,
 * so a throttled DynamoDB costs a pause, not a re-read. A write that fails its condition
 * (another worker took the lease), or a pause longer than `maxPauseMs`, loses it.
 */
export class LeaseRenewer {
  private readonly held = new Map<string, HeldLease>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: MonotonicClock;
  private readonly marginMs: number;
  private readonly maxPauseMs: number;
  private readonly listeners: LeaseStateListener[] = [];

  constructor(
    private readonly store: LeaseStore,
    private readonly options: LeaseRenewerOptions,
    private readonly log: Logger,
  ) {
    this.now = options.now ?? monotonicNow;
    this.marginMs = selfExpiryMarginMs(options.failoverMs);
    this.maxPauseMs = options.maxPauseMs ?? Number.POSITIVE_INFINITY;
  }

  onLost(listener: (shardId: string, reason: string) => void): void {
    this.listeners.push({ lost: listener });
  }

  onPaused(listener: (shardId: string) => void): void {
    this.listeners.push({ paused: listener });
  }

  onResumed(listener: (shardId: string) => void): void {
    this.listeners.push({ resumed: listener });
  }

  /** Another worker asked for the lease (a balancing steal): finish, checkpoint, release. */
  onHandoff(listener: (shardId: string, nextOwner: string) => void): void {
    this.listeners.push({ handoff: listener });
  }

  start(): void {
    // Often enough to pause within half the margin, and to retry a failed renewal soon.
    const tickMs = Math.max(10, Math.min(this.options.renewIntervalMs / 4, this.marginMs / 2));
    this.timer ??= setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  heldShardIds(): string[] {
    return [...this.held.keys()];
  }

  holds(shardId: string): boolean {
    return this.held.has(shardId);
  }

  /** Starts renewing a lease this worker just took (at the counter the take wrote). */
  add(shardId: string, counter: number, takeSentAt: number = this.now()): void {
    this.held.set(shardId, {
      shardId,
      counter,
      readUntil: takeSentAt + this.options.failoverMs - this.marginMs,
      nextRenewalAt: takeSentAt + this.options.renewIntervalMs,
      pausedAt: null,
      writes: 0,
      failedWrites: 0,
      handoffTo: null,
      chain: Promise.resolve(),
    });
  }

  /** Renews every lease that has no write queued or in flight now. */
  async renewAll(): Promise<void> {
    await Promise.all(
      [...this.held.values()].filter((lease) => lease.writes === 0).map((l) => this.renew(l)),
    );
  }

  checkpoint(shardId: string, checkpoint: CheckpointWrite): Promise<void> {
    return this.write(shardId, async (lease) =>
      this.noticeHandoff(
        lease,
        await this.store.checkpoint(shardId, this.options.workerId, lease.counter, checkpoint),
      ),
    );
  }

  /**
   * Gives the lease back (SIGTERM, a failed shard loop) so another worker takes it at once:
   * during a handoff to the worker that asked for it; else to `receiver` (a live worker
   * that finds it through the owner index), or to nobody when no receiver is known.
   * Returns the counter written.
   */
  async release(shardId: string, receiver: string | null = null): Promise<number> {
    let written = 0;
    await this.write(shardId, async (lease) => {
      const { workerId } = this.options;
      if (lease.handoffTo !== null) {
        try {
          await this.store.completeHandoff(shardId, workerId, lease.counter);
          this.log.info({ shardId, nextOwner: lease.handoffTo }, 'lease handed over');
        } catch (error) {
          // The worker that asked withdrew its request (it is stopping: withdrawHandoff):
          // the lease is ours again, not held here any more, and our claim pass takes it.
          if (!isConditionFailure(error) || !(await this.withdrawnToUs(shardId))) throw error;
          this.log.info(
            { shardId, asker: lease.handoffTo },
            'the handoff was withdrawn: the lease stays with this worker and is taken again',
          );
        }
      } else {
        try {
          if (receiver !== null && receiver !== workerId)
            await this.store.assign(shardId, workerId, lease.counter, receiver);
          else await this.store.release(shardId, workerId, lease.counter);
          this.log.info({ shardId, nextOwner: receiver ?? undefined }, 'lease released');
        } catch (error) {
          // A handoff asked since our last renewal (leaseOwner is already the asker): the
          // release completes it instead, so the asker starts now, not after failover.
          if (!isConditionFailure(error)) throw error;
          await this.store.completeHandoff(shardId, workerId, lease.counter).catch(() => {
            throw error;
          });
          this.log.info({ shardId }, 'lease handed over (asked since the last renewal)');
        }
      }
      this.held.delete(shardId);
      written = lease.counter + 1;
      return written;
    });
    return written;
  }

  /** Whether a lease whose handoff we were finishing is ours again, with no handoff. */
  private async withdrawnToUs(shardId: string): Promise<boolean> {
    const lease = await this.store.getLease(shardId).catch(() => null);
    return lease?.leaseOwner === this.options.workerId && !lease.checkpointOwner;
  }

  /** The worker a graceful handoff of this lease goes to, if one was asked. */
  handoffTarget(shardId: string): string | null {
    return this.held.get(shardId)?.handoffTo ?? null;
  }

  /** Stops renewing without writing (a finished shard keeps its SHARD_END row). */
  forget(shardId: string): void {
    this.held.delete(shardId);
  }

  /** Self-expiry and due renewals; runs on the timer, never waiting on a call. */
  private tick(): void {
    const now = this.now();
    for (const lease of [...this.held.values()]) {
      if (lease.pausedAt === null && now >= lease.readUntil) {
        if (this.maxPauseMs === 0) {
          this.lose(lease.shardId, 'not renewed within the failover time');
          continue;
        }
        lease.pausedAt = now;
        this.log.warn(
          { shardId: lease.shardId, failedWrites: lease.failedWrites },
          'lease not renewed in time: its shard stops reading until a renewal succeeds',
        );
        this.emit((listener) => listener.paused?.(lease.shardId));
      } else if (lease.pausedAt !== null && now - lease.pausedAt >= this.maxPauseMs) {
        this.lose(lease.shardId, 'not renewed within the failover time');
        continue;
      }
      if (lease.writes === 0 && now >= lease.nextRenewalAt) void this.renew(lease);
    }
  }

  private async renew(lease: HeldLease): Promise<void> {
    try {
      await this.write(lease.shardId, async (current) =>
        this.noticeHandoff(
          current,
          await this.store.renew(current.shardId, this.options.workerId, current.counter),
        ),
      );
    } catch (error) {
      if (error instanceof LeaseLostError) return;
      const details = {
        shardId: lease.shardId,
        err: errorMessage(error),
        code: awsErrorName(error),
      };
      if (lease.failedWrites === 1) this.log.warn(details, 'lease renewal failed; will retry');
      else this.log.debug({ ...details, failures: lease.failedWrites }, 'lease renewal failed');
    }
  }

  /**
   * One conditional write to a held lease, in order with the others. `run` returns the new
   * counter; its success renews the lease from the moment the request was sent.
   */
  private write(shardId: string, run: (lease: HeldLease) => Promise<number>): Promise<void> {
    const lease = this.held.get(shardId);
    if (!lease) return Promise.reject(new LeaseLostError(shardId));
    lease.writes += 1;
    const attempt = lease.chain.then(async () => {
      if (this.held.get(shardId) !== lease) throw new LeaseLostError(shardId);
      const sentAt = this.now();
      try {
        lease.counter = await run(lease);
      } catch (error) {
        if (isConditionFailure(error)) {
          this.lose(shardId, 'taken by another worker');
          throw new LeaseLostError(shardId, error);
        }
        // Renew again soon, whichever write failed: a pause is what failed writes cost,
        // and it ends at the next success.
        lease.failedWrites += 1;
        lease.nextRenewalAt = this.now() + this.options.renewIntervalMs / 4;
        throw error;
      }
      lease.failedWrites = 0;
      this.renewed(lease, sentAt);
    });
    const settled = attempt.finally(() => (lease.writes -= 1));
    lease.chain = settled.catch(() => undefined);
    return settled;
  }

  /** A renewal or checkpoint answered that another worker asked for the lease. */
  private noticeHandoff(lease: HeldLease, renewal: LeaseRenewal): number {
    if (renewal.handoffTo !== null && lease.handoffTo === null) {
      const nextOwner = renewal.handoffTo;
      lease.handoffTo = nextOwner;
      this.log.info({ shardId: lease.shardId, nextOwner }, 'lease handoff requested');
      // After this write settles, so the handoff's own writes queue behind it.
      queueMicrotask(() => this.emit((l) => l.handoff?.(lease.shardId, nextOwner)));
    }
    return renewal.counter;
  }

  private renewed(lease: HeldLease, sentAt: number): void {
    const { failoverMs, renewIntervalMs } = this.options;
    lease.readUntil = Math.max(lease.readUntil, sentAt + failoverMs - this.marginMs);
    lease.nextRenewalAt = Math.max(lease.nextRenewalAt, sentAt + renewIntervalMs);
    if (lease.pausedAt === null || this.held.get(lease.shardId) !== lease) return;
    this.log.info(
      { shardId: lease.shardId, pausedMs: Math.round(this.now() - lease.pausedAt) },
      'lease renewed again: its shard resumes reading',
    );
    lease.pausedAt = null;
    this.emit((listener) => listener.resumed?.(lease.shardId));
  }

  private lose(shardId: string, reason: string): void {
    if (!this.held.delete(shardId)) return;
    this.log.warn({ shardId, reason }, 'lease lost');
    this.emit((listener) => listener.lost?.(shardId, reason));
  }

  private emit(notify: (listener: LeaseStateListener) => void): void {
    for (const listener of this.listeners) notify(listener);
  }
}
