import { monotonicNow, type MonotonicClock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { RelayMetrics } from '../observability/metrics.js';
import { ExpiryTracker } from './expiry-tracker.js';
import { waitForParentLeases } from './parent-wait.js';
import type { Lease } from './lease.js';
import type { LeaseRenewer } from './lease-renewer.js';
import { isConditionFailure, type LeaseStore } from './lease-store.js';
import { OwnLeases, handoffTimeoutMs } from './own-leases.js';
import { LeaseReleaser } from './lease-releaser.js';
import { SINGLE_STREAM_SCOPE } from './lease-scope.js';
import { syncStreamLeases } from './stream-lease-sync.js';
import {
  checkTableFormat,
  identifyStreams,
  type LeaseStream,
  type LeasedShard,
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
 * How long the owner lets in-flight records be delivered before it checkpoints and hands
 * over: the handoff timeout less the time to notice the request (a renew interval and a
 * call) and to write the checkpoint and the handoff (two calls), with room to spare.
 */
export function handoffDrainMs(failoverMs: number): number {
  return handoffTimeoutMs(failoverMs) - 1.5 * failoverMs;
}

export interface LeaseListener {
  /** A lease was taken: start a consumer for it. */
  acquired(lease: Lease, shard: LeasedShard): void;
  /** A held lease was lost: stop its consumer without checkpointing. */
  lost(shardId: string): void;
  /** A held lease was not renewed in time: stop reading (in-flight records go on). */
  paused(shardId: string): void;
  /** A paused lease was renewed again: read on from where it stopped. */
  resumed(shardId: string): void;
  /**
   * Another worker asked for this lease (a balancing steal): stop reading, finish what is
   * in flight, checkpoint, then release it (the renewer hands it to that worker).
   */
  handoff(shardId: string, nextOwner: string): void;
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
  /** Leases in our name known finished (SHARD_END is final): the claim pass skips them. */
  private readonly finishedOwn = new Set<string>();
  /** The latest successful scan, shared with the children waiting for their parents. */
  private latestScan: { leases: readonly Lease[]; at: number } | undefined;
  /** Leases seen expired by the latest take pass that watched the whole table. */
  private latestExpired: ReadonlySet<string> = new Set();
  private readonly releaser: LeaseReleaser;
  /** Each stream with the leases that are its own; known once `start` identified them. */
  private scopes: readonly StreamScope[] = [];

  constructor(
    private readonly store: LeaseStore,
    private readonly renewer: LeaseRenewer,
    private readonly options: LeaseCoordinatorOptions,
    private readonly listener: LeaseListener,
    private readonly log: Logger,
    private readonly metrics: RelayMetrics,
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
    this.reportOwnerIndex();
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
      this.reportOwnerIndex();
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
    if (kind === 'unowned' && this.ownerIndex) return this.claimPass();
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
    const claimed = await this.claim(claim);
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
      await this.take(byKey.get(candidate.leaseKey) ?? candidate, 'taken');
    if (plan.steal && kind === 'full') await this.askHandoff(plan.steal);
  }

  /**
   * The claim pass with the owner index: the keys in our name from the index (eventually
   * consistent, keys only), then a consistent read of each lease we do not hold, judged
   * by the same rules as in a scan. No scan: a released lease given to us costs one
   * GetItem and one take.
   */
  private async claimPass(): Promise<void> {
    const keys = await this.store.listLeaseKeysOwnedBy(this.options.workerId);
    const present = new Set(keys);
    for (const key of this.finishedOwn) if (!present.has(key)) this.finishedOwn.delete(key);
    const unheld = keys.filter((key) => !this.renewer.holds(key) && !this.finishedOwn.has(key));
    const leases: Lease[] = [];
    for (const key of unheld) {
      if (this.stopped) return;
      const lease = await this.store.getLease(key);
      if (!lease || !this.scopeOf(lease)) continue;
      if (lease.checkpoint === 'SHARD_END' && lease.leaseOwner === this.options.workerId)
        this.finishedOwn.add(key);
      leases.push(lease);
    }
    const holds = (key: string) => this.renewer.holds(key);
    // No expiry here: the index does not show the whole table; the full pass watches it.
    const { claim } = this.own.review(leases, holds, new Set());
    await this.claim(claim);
  }

  /**
   * Takes the leases that are ours at once (given to us, handed over, left from a
   * restart), within maxLeasesPerWorker; returns the keys taken.
   */
  private async claim(leases: readonly Lease[]): Promise<Set<string>> {
    const max = this.options.maxLeasesPerWorker;
    const room = max === null ? leases.length : max - this.renewer.heldShardIds().length;
    const claimed = new Set<string>();
    for (const lease of leases.slice(0, Math.max(0, room)))
      if (await this.take(lease, 'taken')) claimed.add(lease.leaseKey);
    return claimed;
  }

  /**
   * Gives a held lease up (a failed shard loop): to the worker that asked for it during a
   * handoff; else to the least loaded live worker; else to nobody (see LeaseReleaser).
   */
  async release(leaseKey: string): Promise<void> {
    await this.releaser.release(leaseKey, this.stopped);
  }

  /** Shutdown: gives up every held lease, to receivers chosen from a fresh scan. */
  async releaseAll(): Promise<void> {
    await this.scan().catch((error: unknown) =>
      this.log.warn(
        { err: errorMessage(error) },
        'reading the lease table before releasing failed; receivers from the latest scan',
      ),
    );
    await this.releaser.releaseAll(this.stopped);
  }

  /** Shutdown: watches the receivers take what we released (see LeaseReleaser). */
  confirmReleases(deadline: number): Promise<void> {
    return this.releaser.confirmReleases(deadline);
  }

  private reportOwnerIndex(): void {
    if (this.ownerIndex) {
      this.log.info(
        { table: this.store.tableName },
        'lease table has the owner index (LeaseOwnerToLeaseKeyIndex): the claim pass queries it instead of scanning',
      );
    } else {
      this.log.info(
        { table: this.store.tableName },
        'lease table has no ACTIVE owner index (LeaseOwnerToLeaseKeyIndex): the claim pass scans the table; docs/operations.md "Lease table cost" shows how to add it',
      );
    }
  }

  /**
   * A balancing steal, done as KCL 3 does it: the owner is asked to hand the lease over
   * and keeps it until it has checkpointed what it delivered, so nothing is read twice.
   */
  private async askHandoff(lease: Lease): Promise<void> {
    if (this.stopped) return;
    try {
      await this.store.requestHandoff(lease, this.options.workerId);
      this.own.asked(lease.leaseKey);
      this.metrics.leaseChanges.inc({ change: 'stolen' });
      this.log.info(
        { shardId: lease.leaseKey, owner: lease.leaseOwner },
        'lease handoff asked (balancing)',
      );
    } catch (error) {
      if (isConditionFailure(error)) {
        this.log.debug({ shardId: lease.leaseKey }, 'lease changed before we could ask for it');
      } else {
        this.log.warn(
          { shardId: lease.leaseKey, err: errorMessage(error) },
          'asking for a lease failed',
        );
      }
    }
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

  /** Takes a lease; false when it changed first or the call failed (the next pass retries). */
  private async take(lease: Lease, change: 'taken' | 'stolen'): Promise<boolean> {
    if (this.stopped) return false;
    try {
      const sentAt = this.now();
      const counter = await this.store.take(lease, this.options.workerId);
      // Held from when the take was sent: others see its counter no earlier than that.
      this.renewer.add(lease.leaseKey, counter, sentAt);
      this.own.taken(lease.leaseKey);
      this.metrics.leaseChanges.inc({ change });
      this.updateOwnedGauge();
      this.log.info(
        { shardId: lease.leaseKey, previousOwner: lease.leaseOwner, change },
        'lease acquired',
      );
      const owner = this.scopeOf(lease) ?? this.scopes[0];
      this.listener.acquired(
        { ...lease, leaseOwner: this.options.workerId, leaseCounter: counter },
        {
          stream: owner?.stream.name ?? '',
          shardId: (owner?.scope ?? SINGLE_STREAM_SCOPE).shardIdOf(lease),
        },
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) {
        this.log.debug({ shardId: lease.leaseKey }, 'lease changed before we could take it');
      } else {
        this.log.warn(
          { shardId: lease.leaseKey, err: errorMessage(error) },
          'taking a lease failed',
        );
      }
      return false;
    }
  }

  updateOwnedGauge(): void {
    this.metrics.leasesOwned.set(this.renewer.heldShardIds().length);
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
