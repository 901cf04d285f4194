import { backoffDelay, sleep } from '../core/backoff.js';
import { monotonicNow } from '../core/clock.js';
import { describeCheckpoint, type Checkpoint, type CheckpointWriter } from '../core/checkpoint.js';
import { LeaseLostError, awsErrorName, errorMessage } from '../core/errors.js';
import type { RecordProcessor } from '../core/processor.js';
import { PageSize, type ReadPermits } from '../core/read-permits.js';
import type { RecordPosition, UserRecord } from '../core/record.js';
import type { Logger } from '../observability/logger.js';
import type { RelayMetrics } from '../observability/metrics.js';
import { appendUserRecords } from './deaggregate.js';
import {
  iteratorStartFor,
  latestStartTime,
  openIterator,
  recordsAfter,
  sequenceOf,
} from './iterator-start.js';
import { ShardCheckpointer } from './shard-checkpointer.js';
import type { _Record } from '@aws-sdk/client-kinesis';
import { ShardReadMetrics } from './shard-read-metrics.js';
import type { ShardBatches, ShardRecordSource } from './shard-record-source.js';
import type { IteratorStart, ShardReadApi } from './stream-api.js';

export interface ShardConsumerOptions {
  readonly maxRecordsPerCall: number;
  readonly idleTimeBetweenReadsMs: number;
  readonly minCallIntervalMs: number;
  readonly checkpointIntervalMs: number;
  readonly initialTimestamp: Date | null;
}

export interface ShardConsumerDeps {
  readonly api: ShardReadApi;
  readonly shardId: string;
  /**
   * The shard's lease key (default: the shard id; with several streams
   * `<streamIdentifier>:<shardId>`): keys its read and checkpoint clocks, which two
   * streams' equal shard ids must not share.
   */
  readonly leaseKey?: string;
  readonly startFrom: Checkpoint;
  readonly processor: RecordProcessor;
  readonly checkpoints: CheckpointWriter;
  /** Resolves true once every parent shard has reached SHARD_END (false: stopped first). */
  readonly waitForParents: (signal: AbortSignal) => Promise<boolean>;
  readonly options: ShardConsumerOptions;
  readonly log: Logger;
  readonly metrics: RelayMetrics;
  /**
   * Shared by every shard loop of the process: how many may hold a page at once. The
   * relay passes the lease's read gate (ReadPause), whose `paused` is true while the lease
   * is paused (not renewed in time) or handed over.
   */
  readonly readPermits?: Pick<ReadPermits, 'acquire'> & { readonly paused?: boolean };
  /** Absent: GetRecords polling. */
  readonly source?: ShardRecordSource;
}

/** How a shard loop ended. */
export type ShardOutcome = 'shard-end' | 'stopped' | 'lease-lost';

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
 * One owned shard: GetShardIterator from the checkpoint, then GetRecords at most once per
 * `minCallIntervalMs` (Kinesis allows 5 calls/s/shard), an idle wait when caught up,
 * backoff with jitter on throttling, a fresh iterator after ExpiredIteratorException, and
 * the checkpoint moved on its own timer to what every sink acknowledged.
 */
export class ShardConsumer {
  private readonly abort = new AbortController();
  private readonly checkpointer: ShardCheckpointer;
  private lastDispatched: RecordPosition | null = null;
  private leaseLost = false;
  /** The record an AT_SEQUENCE_NUMBER iterator must start with, until its first record. */
  private expectFirst: string | null = null;
  private reachedShardEnd = false;
  private readonly shardMetrics: ShardReadMetrics;
  /** The Limit of each GetRecords: what the memory budget reserved for the page holds. */
  private readonly pageSize: PageSize;

  constructor(private readonly deps: ShardConsumerDeps) {
    this.pageSize = new PageSize(deps.options.maxRecordsPerCall);
    this.checkpointer = new ShardCheckpointer({
      shardId: deps.shardId,
      startFrom: deps.startFrom,
      writer: deps.checkpoints,
      processor: deps.processor,
      log: deps.log,
      onWritten: () => this.shardMetrics.markCheckpointed(),
      onLeaseLost: () => this.loseLease(),
    });
    this.shardMetrics = new ShardReadMetrics(
      deps.metrics,
      deps.api.stream,
      deps.shardId,
      deps.leaseKey ?? deps.shardId,
    );
  }

  get shardId(): string {
    return this.deps.shardId;
  }

  /** Stops reading; records already handed over stay in flight and are acknowledged. */
  stop(): void {
    this.abort.abort();
  }

  /** Stops at once without writing anything more: the lease is gone. */
  loseLease(): void {
    this.leaseLost = true;
    this.checkpointer.loseLease();
    this.abort.abort();
  }

  async run(): Promise<ShardOutcome> {
    const { log, startFrom } = this.deps;
    if (startFrom === 'SHARD_END') return 'shard-end';
    this.shardMetrics.markCheckpointed();
    const timer = setInterval(
      () => void this.checkpointProgress(),
      this.deps.options.checkpointIntervalMs,
    );
    timer.unref();
    try {
      if (!(await this.deps.waitForParents(this.abort.signal))) return this.outcome();
      log.info({ from: describeCheckpoint(startFrom) }, 'shard started');
      this.shardMetrics.markRead();
      const start = iteratorStartFor(startFrom, this.deps.options.initialTimestamp);
      // A LATEST start is pinned in the lease as the time it began, before anything is read.
      const latestStartedAt = start.type === 'LATEST' ? latestStartTime() : null;
      if (latestStartedAt) void this.checkpointer.pinStart(latestStartedAt);
      const reachedEnd = this.deps.source
        ? await this.deps.source.read(
            this.deps.shardId,
            start,
            this.batches(start, latestStartedAt),
            this.abort.signal,
          )
        : await this.readLoop(start, latestStartedAt);
      if (!reachedEnd) return this.outcome();
      this.deps.processor.endOfShard?.();
      await this.deps.processor.drained();
      if (!(await this.checkpointer.shardEndRetrying(this.abort.signal))) return this.outcome();
      log.info('shard reached SHARD_END');
      this.reachedShardEnd = true;
      return 'shard-end';
    } catch (error) {
      if (error instanceof LeaseLostError) return 'lease-lost';
      throw error;
    } finally {
      clearInterval(timer);
      if (!this.reachedShardEnd) this.deps.processor.release?.();
    }
  }

  /** Writes the checkpoint for what is acknowledged now (on shutdown, after the flush). */
  checkpointProgress(): Promise<void> {
    return this.checkpointer.progress();
  }

  private outcome(): ShardOutcome {
    return this.leaseLost ? 'lease-lost' : 'stopped';
  }

  /** Returns true when the shard was read to its end, false when stopped. */
  private async readLoop(start: IteratorStart, latestStartedAt: Date | null): Promise<boolean> {
    const { options, log } = this.deps;
    const signal = this.abort.signal;
    // A sequence-number start reads AT the checkpointed record: skip through it until a
    // later record has been handed over. Every re-fetch starts AT a record already handled
    // (the last one dispatched, or the checkpoint while none was), so the skip never lapses:
    // a retry on a quiet shard must not re-send the checkpointed record (issue 17, item 3).
    let checkpointed = this.checkpointer.last;
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
          const resume = this.lastDispatched;
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
            this.reportTrimmed(next.trimmed.sequenceNumber, next.trimmed.reason);
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
          next = await this.readAndRoute(iterator, this.lastDispatched ?? checkpointed, signal);
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
        if (name && THROTTLING_ERRORS.has(name)) this.shardMetrics.throttled();
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
   * The record source's side of the loop. Its skip rule is the polling one: nothing at or
   * before the last record handed over, or before it the checkpoint (a sequence-number
   * start reads AT the checkpointed, possibly partly processed, aggregate). A first record
   * later than the AT_SEQUENCE_NUMBER start means Kinesis no longer holds the start record
   * (kinesis-local then subscribes at the oldest one kept): reported as trimmed, as polling.
   */
  private batches(start: IteratorStart, latestStartedAt: Date | null): ShardBatches {
    let checkpointed = this.checkpointer.last;
    let expectFirst = start.type === 'AT_SEQUENCE_NUMBER' ? start.sequenceNumber : null;
    return {
      deliver: async (records, millisBehindLatest) => {
        const signal = this.abort.signal;
        const release = this.deps.readPermits ? await this.deps.readPermits.acquire(signal) : noop;
        try {
          // Stopped before routing (a permit wait ends at once on abort): the batch was not
          // delivered, and the source must not take it as delivered. Returning here let the
          // source end a closed shard on its last event, and SHARD_END was written past
          // that event's undelivered records.
          if (signal.aborted) throw new ShardLoopStoppedError(this.deps.shardId);
          this.shardMetrics.markRead();
          const first = records[0]?.SequenceNumber;
          if (first !== undefined && expectFirst !== null) {
            if (BigInt(first) > BigInt(expectFirst)) {
              this.reportTrimmed(expectFirst, `the subscription started at ${first}`);
              checkpointed = null;
            }
            expectFirst = null;
          }
          await this.route(
            this.toUserRecords(records),
            this.lastDispatched ?? checkpointed,
            millisBehindLatest,
          );
        } finally {
          release();
        }
      },
      trimmed: (sequenceNumber, reason) => {
        this.reportTrimmed(sequenceNumber, reason);
        checkpointed = null;
        expectFirst = null;
      },
      throttled: () => this.shardMetrics.throttled(),
      latestStartedAt,
    };
  }

  /** Records between the start record and the oldest one kept are lost to the retention. */
  private reportTrimmed(sequenceNumber: string, reason: string): void {
    this.shardMetrics.checkpointTrimmed();
    this.deps.log.error(
      { sequenceNumber, reason },
      'the record to resume from was trimmed (older than the stream retention): resuming at TRIM_HORIZON; records in between are lost',
    );
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
    const outcome = await this.readUserRecords(iterator, signal);
    if (this.deps.readPermits?.paused) {
      // Paused while this page was read (a handoff, or the lease not renewed in time):
      // routing it now is what the pause must prevent, as the next owner may already be
      // reading the shard from the checkpoint. Read the page again (same iterator) if the
      // lease is renewed; else the next owner reads it. Not routed, so not counted as a
      // routed page by the memory budget's calibration either.
      this.pageSize.lastPage = null;
      return { nextIterator: iterator, caughtUp: false };
    }
    const first = outcome.userRecords[0];
    if (first && this.expectFirst !== null) {
      // An AT_SEQUENCE_NUMBER iterator starts with that record while Kinesis holds it; a
      // later first record means it was trimmed and Kinesis started at the oldest one kept.
      if (BigInt(first.sequenceNumber) > BigInt(this.expectFirst)) {
        this.reportTrimmed(this.expectFirst, `the iterator started at ${first.sequenceNumber}`);
      }
      this.expectFirst = null;
    }
    await this.route(outcome.userRecords, skipThrough, outcome.millisBehindLatest);
    return { nextIterator: outcome.nextIterator, caughtUp: outcome.caughtUp };
  }

  /** The records after `skipThrough` into the processor, waiting on the sinks. */
  private async route(
    userRecords: UserRecord[],
    skipThrough: RecordPosition | null,
    millisBehindLatest: number | null,
  ): Promise<void> {
    const records = recordsAfter(userRecords, skipThrough);
    this.shardMetrics.observe(records, millisBehindLatest);
    const last = records[records.length - 1];
    if (last) {
      // Handed over: the pipeline clears each entry once routed, so the page does not keep
      // routed records alive (nor get them promoted) while the rest of it is routed.
      await this.deps.processor.process(records, { records });
      this.lastDispatched = {
        sequenceNumber: last.sequenceNumber,
        subSequenceNumber: last.subSequenceNumber,
      };
    }
  }

  /** Kinesis records as user records (their bytes views of the page: see deaggregate). */
  private toUserRecords(records: readonly _Record[]): UserRecord[] {
    const userRecords: UserRecord[] = [];
    for (const record of records) {
      appendUserRecords(record, this.deps.api.stream, this.deps.shardId, userRecords);
    }
    return userRecords;
  }

  /** GetRecords as user records (their bytes views of the page: see deaggregate). */
  private async readUserRecords(iterator: string, signal: AbortSignal): Promise<ReadPage> {
    const { api } = this.deps;
    const stopTimer = this.shardMetrics.startGetRecords();
    const page = await api.getRecords(iterator, this.pageSize.limit, signal);
    stopTimer();
    this.shardMetrics.markRead();
    const userRecords = this.toUserRecords(page.records);
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

/** A batch offered to a shard loop that has stopped: it was not routed. */
class ShardLoopStoppedError extends Error {
  override readonly name = 'ShardLoopStoppedError';
  constructor(shardId: string) {
    super(`the loop of ${shardId} stopped before the batch was routed`);
  }
}
