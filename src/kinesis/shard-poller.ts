import { backoffDelay, sleep } from '../core/backoff.js';
import { monotonicNow } from '../core/clock.js';
import { awsErrorName, errorMessage } from '../core/errors.js';
import { PageSize, type ReadPermits } from '../core/read-permits.js';
import type { RecordPosition, UserRecord } from '../core/record.js';
import type { Logger } from '../observability/logger.js';
import { openIterator, sequenceOf } from './iterator-start.js';
import type { ShardDispatcher } from './shard-dispatcher.js';
import type { ShardReadMetrics } from './shard-read-metrics.js';
import type { IteratorStart, ShardReadApi } from './stream-api.js';

export interface ShardPollerOptions {
  readonly maxRecordsPerCall: number;
  readonly idleTimeBetweenReadsMs: number;
  readonly minCallIntervalMs: number;
}

export interface ShardPollerDeps {
  readonly api: ShardReadApi;
  readonly shardId: string;
  readonly options: ShardPollerOptions;
  readonly log: Logger;
  readonly metrics: ShardReadMetrics;
  readonly dispatcher: ShardDispatcher;
  /** The shard loop's read permits (see ShardConsumerDeps.readPermits). */
  readonly readPermits?: Pick<ReadPermits, 'acquire'> & { readonly paused?: boolean };
  /** Stops the loop (the shard loop's stop or lost lease). */
  readonly signal: AbortSignal;
}

const THROTTLING_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'KMSThrottlingException',
  'ThrottlingException',
]);

interface PageOutcome {
  readonly nextIterator: string | null;
  /** No records and nothing behind: wait before the next call. */
  readonly caughtUp: boolean;
}

interface ReadPage extends PageOutcome {
  readonly userRecords: UserRecord[];
  readonly millisBehindLatest: number | null;
}

/**
 * A shard read by GetRecords polling: GetShardIterator from the checkpoint, then
 * GetRecords at most once per `minCallIntervalMs` (Kinesis allows 5 calls/s/shard), an
 * idle wait when caught up, backoff with jitter on throttling, and a fresh iterator after
 * ExpiredIteratorException. What it reads goes through the shard loop's dispatcher.
 */
export class ShardPoller {
  /** The record an AT_SEQUENCE_NUMBER iterator must start with, until its first record. */
  private expectFirst: string | null = null;
  /** The Limit of each GetRecords: what the memory budget reserved for the page holds. */
  private readonly pageSize: PageSize;

  constructor(private readonly deps: ShardPollerDeps) {
    this.pageSize = new PageSize(deps.options.maxRecordsPerCall);
  }

  /**
   * Reads from `start` (`startCheckpoint`: the lease's record position when the loop began).
   * Returns true when the shard was read to its end, false when stopped.
   */
  async read(
    start: IteratorStart,
    latestStartedAt: Date | null,
    startCheckpoint: RecordPosition | null,
  ): Promise<boolean> {
    const { options, log, dispatcher } = this.deps;
    const signal = this.deps.signal;
    // A sequence-number start reads AT the checkpointed record: skip through it until a
    // later record has been handed over. Every re-fetch starts AT a record already handled
    // (the last one dispatched, or the checkpoint while none was), so the skip never lapses:
    // a retry on a quiet shard must not re-send the checkpointed record (issue 17, item 3).
    let checkpointed = startCheckpoint;
    // Where a re-open starts while nothing was handed over yet: the start, except that a
    // LATEST start re-opens at the time it began (LATEST again would be the tip at the
    // re-open: a record put in between would never be read).
    let restart: IteratorStart = latestStartedAt
      ? { type: 'AT_TIMESTAMP', timestamp: latestStartedAt }
      : start;
    let openedOnce = false; // an iterator was asked for (its answer may have been lost)
    let iterator: string | null = null;
    let failures = 0;
    let lastCallAt = 0;

    while (!signal.aborted) {
      try {
        if (iterator === null) {
          const resume = dispatcher.lastDispatched;
          const from: IteratorStart = resume
            ? { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: resume.sequenceNumber }
            : openedOnce
              ? restart
              : start;
          openedOnce = true;
          const next = await openIterator(this.deps.api, this.deps.shardId, from, signal);
          iterator = next.iterator;
          this.expectFirst = next.trimmed ? null : sequenceOf(from);
          if (next.trimmed) {
            dispatcher.reportTrimmed(next.trimmed.sequenceNumber, next.trimmed.reason);
            // Read from the oldest record kept: every one of them, whatever its number. A
            // re-open before the first record starts there too (not at the trimmed start
            // again, which reported the same trim once more per re-open).
            checkpointed = null;
            restart = { type: 'TRIM_HORIZON' };
          }
        }
        // On the monotonic clock: a wall clock stepped back would stall the shard that long.
        await sleep(lastCallAt + options.minCallIntervalMs - monotonicNow(), signal);
        if (signal.aborted) break;
        const release = this.deps.readPermits
          ? await this.deps.readPermits.acquire(signal, this.pageSize)
          : noop;
        let next: PageOutcome;
        try {
          if (signal.aborted) break;
          lastCallAt = monotonicNow();
          next = await this.readAndRoute(
            iterator,
            dispatcher.lastDispatched ?? checkpointed,
            signal,
          );
          failures = 0;
        } finally {
          release();
        }
        if (next.nextIterator === null) return true;
        iterator = next.nextIterator;
        if (next.caughtUp) await sleep(options.idleTimeBetweenReadsMs, signal);
      } catch (error) {
        if (signal.aborted) break;
        const name = awsErrorName(error);
        if (name === 'ResourceNotFoundException' && iterator === null) {
          // The shard is gone: trimmed past its retention before it was (fully) read, as
          // the KCL treats it. Nothing more can be read; finish it so its children start.
          log.error('shard no longer exists (trimmed or deleted); finishing it as SHARD_END');
          return true;
        }
        if (name === 'ExpiredIteratorException') {
          log.info('shard iterator expired; getting a new one');
          iterator = null;
          continue;
        }
        failures += 1;
        if (name && THROTTLING_ERRORS.has(name)) this.deps.metrics.throttled();
        else
          log.warn(
            { err: errorMessage(error), code: name, failures },
            'reading the shard failed; backing off',
          );
        // After a failure the iterator may be invalid: re-fetch from what was dispatched.
        if (name !== undefined && !THROTTLING_ERRORS.has(name)) iterator = null;
        await sleep(backoffDelay({ initialDelayMs: 250, maxDelayMs: 10_000 }, failures), signal);
      }
    }
    return false;
  }

  /**
   * One page: GetRecords, then its user records into the processor (waiting on the sinks'
   * backpressure). Its own method so that nothing of the page outlives it: an async
   * function's suspended frame keeps its block-scoped locals, and the loop's next wait
   * (for a read permit) then held a whole routed page per shard, acknowledged or not.
   */
  private async readAndRoute(
    iterator: string,
    skipThrough: RecordPosition | null,
    signal: AbortSignal,
  ): Promise<PageOutcome> {
    const chunkPage = this.deps.dispatcher.chunkPage;
    if (chunkPage && this.deps.api.getRecordsBody) {
      const outcome = await this.readAndRouteChunked(iterator, skipThrough, chunkPage, signal);
      // null: a body the worker's reader does not take (child shards at a shard's end, an
      // unusual response): the same iterator is read again, with the SDK's reader.
      if (outcome) return outcome;
    }
    const outcome = await this.readUserRecords(iterator, signal);
    if (this.pausedWhileRead()) return { nextIterator: iterator, caughtUp: false };
    this.checkFirst(outcome.userRecords[0]?.sequenceNumber ?? null);
    await this.deps.dispatcher.route(outcome.userRecords, skipThrough, outcome.millisBehindLatest);
    return { nextIterator: outcome.nextIterator, caughtUp: outcome.caughtUp };
  }

  /** One page read as a body and chunked in a worker (see ShardPipeline.processPage). */
  private async readAndRouteChunked(
    iterator: string,
    skipThrough: RecordPosition | null,
    chunkPage: NonNullable<ShardDispatcher['chunkPage']>,
    signal: AbortSignal,
  ): Promise<PageOutcome | null> {
    const { api, metrics } = this.deps;
    const stopTimer = metrics.startGetRecords();
    const body = await api.getRecordsBody!(iterator, this.pageSize.limit, signal);
    stopTimer();
    metrics.markRead();
    const page = await chunkPage(body, skipThrough);
    // Stopped while the thread read it (lease lost, shutdown): the next reader reads it.
    if (signal.aborted) return { nextIterator: iterator, caughtUp: false };
    if (!page.parsed) return null;
    this.pageSize.observeCounts(page.kinesisRecords, page.pageUserRecords, page.pageDataBytes);
    if (this.pausedWhileRead()) return { nextIterator: iterator, caughtUp: false };
    this.checkFirst(page.firstSequenceNumber);
    await this.deps.dispatcher.routePage(page);
    return {
      nextIterator: page.nextIterator,
      caughtUp: page.kinesisRecords === 0 && (page.millisBehindLatest ?? 0) === 0,
    };
  }

  /**
   * Paused while this page was read (a handoff, or the lease not renewed in time): routing
   * it now is what the pause must prevent, as the next owner may already be reading the
   * shard from the checkpoint. The page is read again (same iterator) if the lease is
   * renewed; else the next owner reads it. Not routed, so not counted as a routed page by
   * the memory budget's calibration either.
   */
  private pausedWhileRead(): boolean {
    if (!this.deps.readPermits?.paused) return false;
    this.pageSize.lastPage = null;
    return true;
  }

  /**
   * An AT_SEQUENCE_NUMBER iterator starts with that record while Kinesis holds it; a later
   * first record means it was trimmed and Kinesis started at the oldest one kept.
   */
  private checkFirst(firstSequenceNumber: string | null): void {
    if (firstSequenceNumber === null || this.expectFirst === null) return;
    if (BigInt(firstSequenceNumber) > BigInt(this.expectFirst)) {
      this.deps.dispatcher.reportTrimmed(
        this.expectFirst,
        `the iterator started at ${firstSequenceNumber}`,
      );
    }
    this.expectFirst = null;
  }

  /** GetRecords as user records (their bytes views of the page: see deaggregate). */
  private async readUserRecords(iterator: string, signal: AbortSignal): Promise<ReadPage> {
    const { api } = this.deps;
    const stopTimer = this.deps.metrics.startGetRecords();
    const page = await api.getRecords(iterator, this.pageSize.limit, signal);
    stopTimer();
    this.deps.metrics.markRead();
    const userRecords = this.deps.dispatcher.toUserRecords(page.records);
    this.pageSize.observe(page.records.length, userRecords);
    return {
      userRecords,
      nextIterator: page.nextIterator,
      millisBehindLatest: page.millisBehindLatest,
      caughtUp: page.records.length === 0 && (page.millisBehindLatest ?? 0) === 0,
    };
  }
}

function noop(): void {}
