import type { Lease } from '../../../src/leases/lease.js';
import type { LeaseStore } from '../../../src/leases/lease-store.js';

/**
 * Polls the lease table and counts, per shard, how often it passed to another worker
 * (a "move": each one may re-deliver the loser's unacknowledged tail, so the duplicate
 * bound scales with it).
 */
export class LeaseWatcher {
  readonly moves = new Map<string, number>();
  private readonly lastOwner = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  latest: Lease[] = [];

  constructor(
    private readonly store: LeaseStore,
    private readonly intervalMs = 200,
  ) {}

  start(): this {
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get totalMoves(): number {
    return [...this.moves.values()].reduce((a, b) => a + b, 0);
  }

  async poll(): Promise<Lease[]> {
    if (this.polling) return this.latest;
    this.polling = true;
    try {
      this.latest = await this.store.listLeases();
      for (const lease of this.latest) {
        const owner = lease.leaseOwner;
        if (owner === null) continue;
        const before = this.lastOwner.get(lease.leaseKey);
        if (before !== undefined && before !== owner) {
          this.moves.set(lease.leaseKey, (this.moves.get(lease.leaseKey) ?? 0) + 1);
        }
        this.lastOwner.set(lease.leaseKey, owner);
      }
    } catch {
      // The next poll tries again.
    } finally {
      this.polling = false;
    }
    return this.latest;
  }

  /**
   * Waits until every one of `shards` leases is held by one of `live`; returns how long
   * that took from `since` (ms), or null if it did not happen within `timeoutMs`.
   */
  async allOwnedBy(
    live: ReadonlySet<string>,
    shards: number,
    since: number,
    timeoutMs = 60_000,
  ): Promise<number | null> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leases = await this.store.listLeases().catch(() => [] as Lease[]);
      const active = leases.filter((l) => l.checkpoint !== 'SHARD_END');
      if (
        active.length >= shards &&
        active.every((l) => l.leaseOwner !== null && live.has(l.leaseOwner))
      ) {
        return Date.now() - since;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return null;
  }
}
