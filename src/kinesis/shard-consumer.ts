import { describeCheckpoint, type Checkpoint, type CheckpointWriter } from '../core/checkpoint.js';
import { LeaseLostError } from '../core/errors.js';
import type { RecordProcessor } from '../core/processor.js';
import type { ReadPermits } from '../core/read-permits.js';
import type { Logger } from '../observability/logger.js';
import type { RelayMetrics } from '../observability/metrics.js';
import { iteratorStartFor, latestStartTime } from './iterator-start.js';
import { shardBatches } from './shard-batches.js';
import { ShardCheckpointer } from './shard-checkpointer.js';
import { ShardDispatcher } from './shard-dispatcher.js';
import { ShardPoller } from './shard-poller.js';
import { ShardReadMetrics } from './shard-read-metrics.js';
import type { ShardRecordSource } from './shard-record-source.js';
import type { ShardReadApi } from './stream-api.js';

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

/**
 * One owned shard: waits for its parents, reads it from the checkpoint (GetRecords polling,
 * ShardPoller, or a ShardRecordSource through shardBatches), hands its records over through
 * the ShardDispatcher, moves the checkpoint on its own timer to what every sink acknowledged
 * (ShardCheckpointer), and ends at SHARD_END, on stop() or when the lease is lost.
 */
export class ShardConsumer {
  private readonly abort = new AbortController();
  private readonly checkpointer: ShardCheckpointer;
  private readonly dispatcher: ShardDispatcher;
  private leaseLost = false;
  private reachedShardEnd = false;
  private readonly shardMetrics: ShardReadMetrics;

  constructor(private readonly deps: ShardConsumerDeps) {
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
    this.dispatcher = new ShardDispatcher({
      stream: deps.api.stream,
      shardId: deps.shardId,
      processor: deps.processor,
      log: deps.log,
      metrics: this.shardMetrics,
    });
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
      const readDeps = {
        shardId: this.deps.shardId,
        metrics: this.shardMetrics,
        dispatcher: this.dispatcher,
        readPermits: this.deps.readPermits,
        signal: this.abort.signal,
      };
      const reachedEnd = this.deps.source
        ? await this.deps.source.read(
            this.deps.shardId,
            start,
            shardBatches(readDeps, start, latestStartedAt, this.checkpointer.last),
            this.abort.signal,
          )
        : await new ShardPoller({
            ...readDeps,
            api: this.deps.api,
            options: this.deps.options,
            log,
          }).read(start, latestStartedAt, this.checkpointer.last);
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
}
