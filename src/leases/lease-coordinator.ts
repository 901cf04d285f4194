import { sleep } from '../core/backoff.js';
import { monotonicNow, type MonotonicClock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { RelayMetrics } from '../observability/metrics.js';
import { ExpiryTracker } from './expiry-tracker.js';
import type { Lease } from './lease.js';
import type { LeaseRenewer } from './lease-renewer.js';
import { isConditionFailure, type LeaseStore } from './lease-store.js';
import { SINGLE_STREAM_SCOPE, fromShardView, toShardView, type LeaseScope } from './lease-scope.js';
import { leaseTableRepairs, leasesToCreate } from './shard-sync.js';
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
}

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
  /** Leases this process held and lost (not released): not ours to re-take at once. */
  private readonly lostHere = new Set<string>();
  /** Counters last seen on leases in our name that this process does not hold. */
  private readonly unheldOwnCounters = new Map<string, number>();
  private duplicateIdReported = false;
  /** Handoffs this worker asked for and waits on: lease key -> when first seen pending. */
  private readonly handoffsAsked = new Map<string, number>();
  /** The latest successful scan, shared with the children waiting for their parents. */
  private latestScan: { leases: readonly Lease[]; at: number } | undefined;
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
    for (const change of ['taken', 'stolen', 'lost'] as const)
      metrics.leaseChanges.inc({ change }, 0);
    metrics.leasesOwned.set(0);
    renewer.onLost((shardId) => {
      this.lostHere.add(shardId);
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
    await this.store.ensureTable();
    const table = await this.scan();
    const multiStream = this.scopes.length === 0;
    checkTableFormat(table, multiStream, this.store.tableName);
    if (multiStream) this.scopes = await identifyStreams(this.options.streams, table, this.log);
    await this.syncShards();
    await this.takePass();
    this.renewer.start();
    this.every(this.options.takeIntervalMs, () => this.serialized(() => this.takePass('full')));
    // Leases released on SIGTERM are free at once; waiting for the next full pass (2 x
    // failover by default) would leave their shards unread that long.
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
    const leases = await this.scan();
    const results = await Promise.allSettled(
      this.scopes.map(({ stream, scope }) => this.syncStream(stream, scope, leases)),
    );
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    this.syncedOnce = true;
  }

  private async syncStream(stream: LeaseStream, scope: LeaseScope, table: readonly Lease[]) {
    const shards = await stream.listShards();
    // The shard sync works on shard ids; the stream's own leases are seen that way.
    const own = table.filter((lease) => scope.holds(lease));
    const leases = own.map((lease) => toShardView(lease, scope));
    const log =
      scope.streamIdentifier === null ? this.log : this.log.child({ stream: stream.name });
    for (const lease of leasesToCreate(shards, leases, stream.initialPosition)) {
      if (await this.store.createLeaseIfAbsent(fromShardView(lease, scope))) {
        log.info(
          { shardId: lease.leaseKey, checkpoint: lease.checkpoint, parents: lease.parentShardIds },
          'lease created',
        );
      }
    }
    const repairs = leaseTableRepairs(shards, leases);
    for (const { shardId, children } of repairs.childShardIds) {
      await this.store.setChildShardIds(scope.leaseKey(shardId), children);
    }
    for (const removable of repairs.removable) {
      const lease = own.find((candidate) => scope.shardIdOf(candidate) === removable.leaseKey);
      if (!lease) continue;
      try {
        await this.store.deleteLease(lease);
        log.info({ shardId: removable.leaseKey }, 'lease of a finished, trimmed shard deleted');
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
  }

  /** The stream a lease of the table belongs to, if it is one of ours. */
  private scopeOf(lease: Lease): StreamScope | undefined {
    return this.scopes.find(({ scope }) => scope.holds(lease));
  }

  /**
   * One take pass: leases left with this worker's id, unowned, expired, or one to steal.
   * An 'unowned' pass (the claim pass) takes only leases nobody holds (released or new):
   * expired leases and steals stay with the full pass, as in the KCL. Both passes feed
   * the expiry tracker.
   */
  async takePass(kind: 'full' | 'unowned' = 'full'): Promise<void> {
    if (this.stopped) return;
    const sentAt = this.now();
    // Leases of streams this application does not consume (dropped from `streams:`, or
    // left by another application sharing the table) are never taken.
    const leases = (await this.scan()).filter((lease) => this.scopeOf(lease));
    const observedExpired = this.expiry.observe(leases, { sentAt });
    const expired = kind === 'full' ? observedExpired : new Set<string>();
    const { workerId } = this.options;
    const handedToUs = new Set(this.handoffsAsked.keys());
    const handoffOverdue = this.handoffsOverdue(leases, observedExpired);
    this.watchOwnId(leases);
    // Leases in this worker id that this process does not hold are ours at once when
    // left from before a restart (as in the KCL), handed over to us (checkpointOwner gone)
    // or a handoff that timed out. One this process lost to a conditional write but still
    // in our id is someone else's (another process using the same id, or an operator's
    // `checkpoint set --force`): it is taken only once expired, like any other.
    const ours = (lease: Lease) =>
      lease.leaseOwner === workerId &&
      !this.renewer.holds(lease.leaseKey) &&
      lease.checkpoint !== 'SHARD_END';
    const stale = leases.filter(
      (lease) =>
        ours(lease) &&
        (lease.checkpointOwner
          ? handoffOverdue.has(lease.leaseKey)
          : !this.lostHere.has(lease.leaseKey) || handedToUs.has(lease.leaseKey)),
    );
    const foreign = leases.filter(
      (lease) => ours(lease) && !lease.checkpointOwner && !stale.includes(lease),
    );
    const plan = planTakes({
      leases: leases.map((lease) =>
        stale.includes(lease)
          ? { ...lease, leaseOwner: null }
          : foreign.includes(lease)
            ? { ...lease, leaseOwner: `${workerId} (another process)` }
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
   * A lease in our worker id that this process does not hold, whose counter moves between
   * our scans, is renewed by another process using the same id: say so, loudly, once.
   */
  private watchOwnId(leases: readonly Lease[]): void {
    const seen = new Set<string>();
    for (const lease of leases) {
      const { leaseKey, leaseCounter } = lease;
      if (lease.leaseOwner !== this.options.workerId || this.renewer.holds(leaseKey)) continue;
      if (lease.checkpointOwner) continue;
      seen.add(leaseKey);
      const before = this.unheldOwnCounters.get(leaseKey);
      this.unheldOwnCounters.set(leaseKey, leaseCounter);
      if (before === undefined || before === leaseCounter || this.duplicateIdReported) continue;
      this.duplicateIdReported = true;
      this.log.error(
        { shardId: leaseKey, workerId: this.options.workerId },
        'another process renews leases under this worker id: leases.workerId must be unique per process (leave it unset for hostname + random suffix)',
      );
    }
    for (const key of this.unheldOwnCounters.keys())
      if (!seen.has(key)) this.unheldOwnCounters.delete(key);
  }

  /**
   * Tracks the handoffs asked of other workers (leaseOwner = us, checkpointOwner = them)
   * and returns those not completed in time: they are taken outright.
   */
  private handoffsOverdue(leases: readonly Lease[], expired: ReadonlySet<string>): Set<string> {
    const now = this.now();
    const pending = new Set<string>();
    const overdue = new Set<string>();
    for (const lease of leases) {
      const { leaseKey, leaseOwner, checkpointOwner } = lease;
      if (leaseOwner !== this.options.workerId || !checkpointOwner) continue;
      if (checkpointOwner === leaseOwner || this.renewer.holds(leaseKey)) continue;
      pending.add(leaseKey);
      const askedAt = this.handoffsAsked.get(leaseKey) ?? now;
      this.handoffsAsked.set(leaseKey, askedAt);
      if (expired.has(leaseKey) || now - askedAt > handoffTimeoutMs(this.options.failoverMs)) {
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

  /**
   * A balancing steal, done as KCL 3 does it: the owner is asked to hand the lease over
   * and keeps it until it has checkpointed what it delivered, so nothing is read twice.
   */
  private async askHandoff(lease: Lease): Promise<void> {
    if (this.stopped) return;
    try {
      await this.store.requestHandoff(lease, this.options.workerId);
      this.handoffsAsked.set(lease.leaseKey, this.now());
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
   * Resolves true when every parent of the shard has reached SHARD_END (or is gone).
   * Reads the take passes' latest scan (they run every claim interval) rather than
   * scanning per waiting child; scans only when that is older than the failover time,
   * and a failed scan is retried, never fatal.
   */
  async waitForParents(lease: Lease, signal: AbortSignal): Promise<boolean> {
    if (lease.parentShardIds.length === 0) return true;
    // Parent ids are bare shard ids; their leases are keyed in the child's stream.
    const scope = this.scopeOf(lease)?.scope ?? SINGLE_STREAM_SCOPE;
    const parentKeys = lease.parentShardIds.map((id) => scope.leaseKey(id));
    while (!signal.aborted) {
      let scanned: readonly Lease[] | undefined = this.latestScan?.leases;
      if (!this.latestScan || this.now() - this.latestScan.at > this.options.failoverMs) {
        scanned = await this.scan().catch((error: unknown) => {
          this.log.warn(
            { shardId: lease.leaseKey, err: errorMessage(error) },
            'reading the parent leases failed; will retry',
          );
          return undefined;
        });
      }
      if (scanned === undefined) {
        await sleep(Math.min(this.options.claimIntervalMs, 5_000), signal);
        continue;
      }
      const leases = new Map(scanned.map((l) => [l.leaseKey, l]));
      const waiting = parentKeys.filter((id) => {
        const parent = leases.get(id);
        return parent !== undefined && parent.checkpoint !== 'SHARD_END';
      });
      if (waiting.length === 0) return true;
      this.log.debug({ shardId: lease.leaseKey, waiting }, 'waiting for parent shards to finish');
      await sleep(Math.min(this.options.claimIntervalMs, 5_000), signal);
    }
    return false;
  }

  private async scan(): Promise<Lease[]> {
    const sentAt = this.now();
    const leases = await this.store.listLeases();
    this.latestScan = { leases, at: sentAt };
    return leases;
  }

  private async take(lease: Lease, change: 'taken' | 'stolen'): Promise<void> {
    if (this.stopped) return;
    try {
      const sentAt = this.now();
      const counter = await this.store.take(lease, this.options.workerId);
      // Held from when the take was sent: others see its counter no earlier than that.
      this.renewer.add(lease.leaseKey, counter, sentAt);
      this.lostHere.delete(lease.leaseKey);
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
    } catch (error) {
      if (isConditionFailure(error)) {
        this.log.debug({ shardId: lease.leaseKey }, 'lease changed before we could take it');
      } else {
        this.log.warn(
          { shardId: lease.leaseKey, err: errorMessage(error) },
          'taking a lease failed',
        );
      }
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
