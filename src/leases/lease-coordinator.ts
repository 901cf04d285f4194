import { monotonicNow, type MonotonicClock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { RelayMetrics } from '../observability/metrics.js';
import { ExpiryTracker } from './expiry-tracker.js';
import { waitForParentLeases } from './parent-wait.js';
import type { Lease } from './lease.js';
import type { LeaseRenewer } from './lease-renewer.js';
import type { LeaseStore } from './lease-store.js';
import { LeaseTaker } from './lease-taker.js';
import { OwnerIndexClaim, logOwnerIndex } from './owner-index-claim.js';
import { OwnLeases } from './own-leases.js';
import type { LeaseListener } from './lease-listener.js';
import { LeaseReleaser } from './lease-releaser.js';
import { SINGLE_STREAM_SCOPE } from './lease-scope.js';
import { syncStreamLeases } from './stream-lease-sync.js';
import {
  checkTableFormat,
  identifyStreams,
  leasedShardOf,
  type LeaseStream,
  type StreamScope,
} from './stream-scopes.js';
import { planTakes } from './take-planner.js';

export interface LeaseCoordinatorOptions {
  readonly workerId: string;
  /**
   * One stream with an `identify` per stream: a KCL multi-stream table. One without: the
   * single-stream table (lease key = shard id).
   */
  readonly streams: readonly LeaseStream[];
  readonly failoverMs: number;
  readonly takeIntervalMs: number;
  /** How often to look for released or new leases (cheap pass, no steal): handoff speed. */
  readonly claimIntervalMs: number;
  readonly shardSyncIntervalMs: number;
  readonly maxLeasesPerWorker: number | null;
  /** Monotonic milliseconds; a test passes its own. */
  readonly now?: MonotonicClock;
  /** Breaks ties between release receivers; a test passes its own. */
  readonly random?: () => number;
}

/**
 * Keeps the lease table in step with the stream's shards and takes this worker's share
 * of the leases (KCL's take and steal rules), on timers of their own.
 */
export class LeaseCoordinator {
  private readonly expiry: ExpiryTracker;
  private timers: NodeJS.Timeout[] = [];
  private syncedOnce = false;
  private stopped = false;
  private passRunning: Promise<void> = Promise.resolve();
  private readonly now: MonotonicClock;
  private readonly own: OwnLeases;
  /**
   * KCL 3's owner index is there: the claim pass queries the leases in our name instead
   * of scanning the table. Known at start; re-checked at each shard sync while missing.
   */
  private ownerIndex = false;
  /** The latest successful scan, shared with the children waiting for their parents. */
  private latestScan: { leases: readonly Lease[]; at: number } | undefined;
  /** Leases seen expired by the latest take pass that watched the whole table. */
  private latestExpired: ReadonlySet<string> = new Set();
  private readonly releaser: LeaseReleaser;
  private readonly taker: LeaseTaker;
  private readonly ownerIndexClaim: OwnerIndexClaim;
  /** Each stream with the leases that are its own; known once `start` identified them. */
  private scopes: readonly StreamScope[] = [];

  constructor(
    private readonly store: LeaseStore,
    private readonly renewer: LeaseRenewer,
    private readonly options: LeaseCoordinatorOptions,
    listener: LeaseListener,
    private readonly log: Logger,
    metrics: RelayMetrics,
  ) {
    this.now = options.now ?? monotonicNow;
    const [only] = options.streams;
    if (options.streams.length === 1 && only && !only.identify)
      this.scopes = [{ stream: only, scope: SINGLE_STREAM_SCOPE }];
    this.expiry = new ExpiryTracker(options.failoverMs, this.now);
    this.own = new OwnLeases(options.workerId, options.failoverMs, log, this.now);
    this.releaser = new LeaseReleaser(
      store,
      renewer,
      {
        workerId: options.workerId,
        claimIntervalMs: options.claimIntervalMs,
        maxLeasesPerWorker: options.maxLeasesPerWorker,
        random: options.random,
        now: this.now,
      },
      () => ({ leases: this.latestScan?.leases, expired: this.latestExpired }),
      (lease) => this.scopeOf(lease) !== undefined,
      log,
    );
    this.taker = new LeaseTaker(
      store,
      renewer,
      this.own,
      {
        workerId: options.workerId,
        maxLeasesPerWorker: options.maxLeasesPerWorker,
        now: this.now,
        shardOf: (lease) => leasedShardOf(this.scopes, lease),
        stopped: () => this.stopped,
        acquired: (lease, shard) => listener.acquired(lease, shard),
      },
      log,
      metrics,
    );
    this.ownerIndexClaim = new OwnerIndexClaim(store, renewer, this.own, this.taker, {
      workerId: options.workerId,
      consumes: (lease) => this.scopeOf(lease) !== undefined,
      stopped: () => this.stopped,
    });
    for (const change of ['taken', 'stolen', 'lost'] as const)
      metrics.leaseChanges.inc({ change }, 0);
    metrics.leasesOwned.set(0);
    renewer.onLost((shardId) => {
      this.own.lost(shardId);
      metrics.leaseChanges.inc({ change: 'lost' });
      this.updateOwnedGauge();
      listener.lost(shardId);
    });
    renewer.onPaused((shardId) => listener.paused(shardId));
    renewer.onResumed((shardId) => listener.resumed(shardId));
    renewer.onHandoff((shardId, nextOwner) => listener.handoff(shardId, nextOwner));
  }

  /** True once the lease table has been synced with the stream at least once. */
  get ready(): boolean {
    return this.syncedOnce;
  }

  async start(): Promise<void> {
    const { ownerIndexActive } = await this.store.ensureTable();
    this.ownerIndex = ownerIndexActive;
    logOwnerIndex(this.log, this.store.tableName, this.ownerIndex);
    const table = await this.scan();
    const multiStream = this.scopes.length === 0;
    checkTableFormat(table, multiStream, this.store.tableName);
    if (multiStream) this.scopes = await identifyStreams(this.options.streams, table, this.log);
    await this.syncShards();
    await this.takePass();
    this.renewer.start();
    this.every(this.options.takeIntervalMs, () => this.serialized(() => this.takePass('full')));
    // Leases released on SIGTERM are given to a live worker (or freed): waiting for the
    // next full pass (2 x failover by default) would leave their shards unread that long.
    this.every(this.options.claimIntervalMs, () => this.serialized(() => this.takePass('unowned')));
    this.every(this.options.shardSyncIntervalMs, () => this.serialized(() => this.syncShards()));
  }

  /**
   * Stops taking and syncing. The renewer is not stopped here: a shutting-down worker
   * keeps its leases renewed until its final checkpoints and releases are written.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.passRunning;
  }

  /**
   * Creates leases for shards that have none (new stream, or after a reshard), stream by
   * stream: one stream that cannot be listed does not hold the others back.
   */
  async syncShards(): Promise<void> {
    if (this.syncedOnce && !this.ownerIndex && (await this.store.ownerIndexActive())) {
      this.ownerIndex = true;
      logOwnerIndex(this.log, this.store.tableName, this.ownerIndex);
    }
    const leases = await this.scan();
    const results = await Promise.allSettled(
      this.scopes.map(({ stream, scope }) =>
        syncStreamLeases(this.store, stream, scope, leases, this.log),
      ),
    );
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    this.syncedOnce = true;
  }

  /** The stream a lease of the table belongs to, if it is one of ours. */
  private scopeOf(lease: Lease): StreamScope | undefined {
    return this.scopes.find(({ scope }) => scope.holds(lease));
  }

  /**
   * One take pass: leases left with this worker's id, unowned, expired, or one to steal.
   * An 'unowned' pass (the claim pass) takes only the leases in our name and those nobody
   * holds (released or new): expired leases and steals stay with the full pass, as in the
   * KCL. With the owner index the claim pass reads only the leases in our name (new and
   * freed leases then wait for the full pass); without it, it scans and feeds the expiry
   * tracker as the full pass does.
   */
  async takePass(kind: 'full' | 'unowned' = 'full'): Promise<void> {
    if (this.stopped) return;
    if (kind === 'unowned' && this.ownerIndex) return this.ownerIndexClaim.pass();
    const sentAt = this.now();
    // Leases of streams this application does not consume (dropped from `streams:`, or
    // left by another application sharing the table) are never taken.
    const leases = (await this.scan()).filter((lease) => this.scopeOf(lease));
    // With the owner index only the full passes scan: blind only when one failed too.
    const { failoverMs, takeIntervalMs } = this.options;
    const maxGapMs = this.ownerIndex ? takeIntervalMs + failoverMs : failoverMs;
    const observedExpired = this.expiry.observe(leases, { sentAt, maxGapMs });
    this.latestExpired = observedExpired;
    const expired = kind === 'full' ? observedExpired : new Set<string>();
    const { workerId } = this.options;
    const holds = (key: string) => this.renewer.holds(key);
    const { claim, foreign } = this.own.review(leases, holds, observedExpired);
    const claimed = await this.taker.claim(claim);
    const plan = planTakes({
      leases: leases.map((lease) =>
        claimed.has(lease.leaseKey)
          ? { ...lease, leaseOwner: workerId }
          : foreign.includes(lease)
            ? { ...lease, leaseOwner: `${workerId} (another process)` }
            : claim.includes(lease)
              ? { ...lease, leaseOwner: null } // not claimed (max reached): as unowned
              : lease,
      ),
      workerId,
      expired,
      maxLeasesPerWorker: this.options.maxLeasesPerWorker,
    });
    const byKey = new Map(leases.map((lease) => [lease.leaseKey, lease]));
    for (const candidate of plan.take)
      await this.taker.take(byKey.get(candidate.leaseKey) ?? candidate, 'taken');
    if (plan.steal && kind === 'full') await this.taker.askHandoff(plan.steal);
  }

  /**
   * Gives a held lease up (a failed shard loop): to the worker that asked for it during a
   * handoff; else to the least loaded live worker; else to nobody (see LeaseReleaser).
   */
  async release(leaseKey: string): Promise<void> {
    await this.releaser.release(leaseKey, this.stopped);
  }

  /**
   * Shutdown: gives up every held lease, to receivers chosen from a fresh scan, and passes
   * on the leases in our name not taken yet (LeaseReleaser.passOnUnclaimed).
   */
  async releaseAll(): Promise<void> {
    const fresh = await this.scan().catch((error: unknown) => {
      this.log.warn(
        { err: errorMessage(error) },
        'reading the lease table before releasing failed; receivers from the latest scan',
      );
      return null;
    });
    try {
      await this.releaser.releaseAll(this.stopped);
    } finally {
      if (fresh && this.stopped) await this.releaser.passOnUnclaimed(fresh);
    }
  }

  /** Shutdown: watches the receivers take what we released (see LeaseReleaser). */
  confirmReleases(deadline: number): Promise<void> {
    return this.releaser.confirmReleases(deadline);
  }

  /**
   * Resolves true when every parent of the shard has reached SHARD_END (or is gone);
   * false when `signal` aborts first. Reads the take passes' latest scan (see parent-wait.ts).
   */
  waitForParents(lease: Lease, signal: AbortSignal): Promise<boolean> {
    // Parent ids are bare shard ids; their leases are keyed in the child's stream.
    const scope = this.scopeOf(lease)?.scope ?? SINGLE_STREAM_SCOPE;
    return waitForParentLeases(
      lease,
      lease.parentShardIds.map((id) => scope.leaseKey(id)),
      {
        latestScan: () => this.latestScan,
        scan: () => this.scan(),
        failoverMs: this.options.failoverMs,
        retryMs: Math.min(this.options.claimIntervalMs, 5_000),
        now: this.now,
      },
      signal,
      this.log,
    );
  }

  private async scan(): Promise<Lease[]> {
    const sentAt = this.now();
    const leases = await this.store.listLeases();
    this.latestScan = { leases, at: sentAt };
    return leases;
  }

  updateOwnedGauge(): void {
    this.taker.updateOwnedGauge();
  }

  private every(intervalMs: number, task: () => Promise<void>): void {
    const timer = setInterval(() => {
      task().catch((error: unknown) =>
        this.log.warn({ err: errorMessage(error) }, 'lease task failed; will retry'),
      );
    }, intervalMs);
    timer.unref();
    this.timers.push(timer);
  }

  private serialized(task: () => Promise<void>): Promise<void> {
    const run = this.passRunning.then(task);
    this.passRunning = run.catch(() => undefined);
    return run;
  }
}
