import type { Checkpoint } from '../core/checkpoint.js';
import { LeaseLostError, errorMessage } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import { isConditionFailure, type LeaseStore } from './lease-store.js';

interface HeldLease {
  readonly shardId: string;
  counter: number;
  lastRenewedAt: number;
  /** Writes to one lease run one at a time: each must expect the counter of the last. */
  chain: Promise<unknown>;
}

export interface LeaseRenewerOptions {
  readonly workerId: string;
  readonly renewIntervalMs: number;
  readonly failoverMs: number;
  readonly now?: () => number;
}

/**
 * Keeps this worker's leases alive on its own timer, so a slow sink never costs a lease,
 * and performs every other write to a held lease (checkpoint, release) in order with the
 * renewals. A lease whose renewal fails a condition, or that could not be renewed within
 * the failover time, is reported lost and forgotten.
 */
export class LeaseRenewer {
  private readonly held = new Map<string, HeldLease>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly lostListeners: Array<(shardId: string, reason: string) => void> = [];

  constructor(
    private readonly store: LeaseStore,
    private readonly options: LeaseRenewerOptions,
    private readonly log: Logger,
  ) {
    this.now = options.now ?? Date.now;
  }

  onLost(listener: (shardId: string, reason: string) => void): void {
    this.lostListeners.push(listener);
  }

  start(): void {
    this.timer ??= setInterval(() => void this.renewAll(), this.options.renewIntervalMs);
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
  add(shardId: string, counter: number): void {
    this.held.set(shardId, {
      shardId,
      counter,
      lastRenewedAt: this.now(),
      chain: Promise.resolve(),
    });
  }

  async renewAll(): Promise<void> {
    await Promise.all([...this.held.values()].map((lease) => this.renew(lease)));
  }

  checkpoint(shardId: string, checkpoint: Checkpoint): Promise<void> {
    return this.exclusive(shardId, async (lease) => {
      lease.counter = await this.store.checkpoint(
        shardId,
        this.options.workerId,
        lease.counter,
        checkpoint,
      );
    });
  }

  /** Gives the lease back (SIGTERM, or a finished shard) so another worker takes it at once. */
  release(shardId: string): Promise<void> {
    return this.exclusive(shardId, async (lease) => {
      this.held.delete(shardId);
      await this.store.release(shardId, this.options.workerId, lease.counter);
      this.log.info({ shardId }, 'lease released');
    });
  }

  /** Stops renewing without writing (a finished shard keeps its SHARD_END row). */
  forget(shardId: string): void {
    this.held.delete(shardId);
  }

  private renew(lease: HeldLease): Promise<void> {
    return this.exclusive(lease.shardId, async () => {
      if (this.now() - lease.lastRenewedAt > this.options.failoverMs) {
        // Others may already consider it expired: stop before writing another checkpoint.
        this.lose(lease.shardId, 'not renewed within the failover time');
        return;
      }
      try {
        lease.counter = await this.store.renew(lease.shardId, this.options.workerId, lease.counter);
        lease.lastRenewedAt = this.now();
      } catch (error) {
        if (isConditionFailure(error)) this.lose(lease.shardId, 'taken by another worker');
        else
          this.log.warn(
            { shardId: lease.shardId, err: errorMessage(error) },
            'lease renewal failed; will retry',
          );
      }
    }).catch(() => undefined);
  }

  private exclusive(shardId: string, write: (lease: HeldLease) => Promise<void>): Promise<void> {
    const lease = this.held.get(shardId);
    if (!lease) return Promise.reject(new LeaseLostError(shardId));
    const run = lease.chain.then(async () => {
      if (this.held.get(shardId) !== lease) throw new LeaseLostError(shardId);
      try {
        await write(lease);
      } catch (error) {
        if (isConditionFailure(error)) {
          this.lose(shardId, 'a conditional write failed');
          throw new LeaseLostError(shardId, error);
        }
        throw error;
      }
    });
    lease.chain = run.catch(() => undefined);
    return run;
  }

  private lose(shardId: string, reason: string): void {
    if (!this.held.delete(shardId)) return;
    this.log.warn({ shardId, reason }, 'lease lost');
    for (const listener of this.lostListeners) listener(shardId, reason);
  }
}
