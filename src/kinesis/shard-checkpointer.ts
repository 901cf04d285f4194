import { backoffDelay, sleep } from '../core/backoff.js';
import {
  isSentinel,
  type Checkpoint,
  type CheckpointWrite,
  type CheckpointWriter,
} from '../core/checkpoint.js';
import { LeaseLostError, awsErrorName, errorMessage } from '../core/errors.js';
import type { RecordProcessor } from '../core/processor.js';
import { comparePositions, type RecordPosition } from '../core/record.js';
import type { Logger } from '../observability/logger.js';

export interface ShardCheckpointerDeps {
  readonly shardId: string;
  readonly startFrom: Checkpoint;
  readonly writer: CheckpointWriter;
  readonly processor: RecordProcessor;
  readonly log: Logger;
  /** A write succeeded (feeds kinesis_relay_checkpoint_age_seconds). */
  readonly onWritten: () => void;
  /** A write found the lease taken: the shard loop must stop at once. */
  readonly onLeaseLost: () => void;
}

/**
 * One shard's checkpoint writes, one at a time and in order. A progress write reads the
 * acknowledged position when it runs, never goes behind (nor repeats) the last position
 * written, and none runs once SHARD_END is being written: a timer tick during the
 * SHARD_END write must not put the lease back on a sequence number (issue 17, item 8).
 */
export class ShardCheckpointer {
  private lastWritten: RecordPosition | null;
  private leaseLost = false;
  /** SHARD_END is being (or was) written. */
  private ending = false;
  private writes: Promise<void> = Promise.resolve();
  private queuedProgress: Promise<void> | null = null;

  constructor(private readonly deps: ShardCheckpointerDeps) {
    this.lastWritten = isSentinel(deps.startFrom) ? null : deps.startFrom;
  }

  /** The last record position in the lease (the start checkpoint until one is written). */
  get last(): RecordPosition | null {
    return this.lastWritten;
  }

  /** Nothing more is written: the lease is no longer ours. */
  loseLease(): void {
    this.leaseLost = true;
  }

  /**
   * Writes the position acknowledged now. A call made while a write is in flight joins the
   * single write queued behind it (which reads the position when it runs), so a stuck
   * write never piles up timer ticks.
   */
  progress(): Promise<void> {
    if (this.leaseLost || this.ending) return Promise.resolve();
    this.queuedProgress ??= this.serialized(async () => {
      this.queuedProgress = null;
      await this.writeProgress();
    });
    return this.queuedProgress;
  }

  /**
   * Pins where a LATEST shard began reading, before its first checkpoint (see PinnedStart).
   * Queued before any progress write and skipped once one was written; a failure leaves
   * the lease at LATEST, as before, and is only logged.
   */
  pinStart(at: Date): Promise<void> {
    return this.serialized(async () => {
      if (this.leaseLost || this.ending || this.lastWritten !== null) return;
      try {
        await this.write({ atTimestamp: at });
      } catch (error) {
        if (!(error instanceof LeaseLostError)) {
          this.deps.log.warn(
            { err: errorMessage(error) },
            'pinning the LATEST start in the lease failed: until the first checkpoint another owner would start at its own LATEST',
          );
        }
      }
    });
  }

  /**
   * The last checkpoint of the shard; rejects when it could not be written. Progress writes
   * may then run again until the next attempt (each is correct while SHARD_END is not in).
   */
  async shardEnd(): Promise<void> {
    this.ending = true;
    try {
      await this.serialized(() => this.write('SHARD_END'));
    } catch (error) {
      this.ending = false;
      throw error;
    }
  }

  /**
   * SHARD_END, retried with backoff until written (true), the lease is lost (throws
   * LeaseLostError) or `signal` stops it (false): one throttled write must not hand a
   * finished shard to another worker to read again from its last checkpoint.
   */
  async shardEndRetrying(signal: AbortSignal): Promise<boolean> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.shardEnd();
        return true;
      } catch (error) {
        if (error instanceof LeaseLostError) throw error;
        this.deps.log.warn(
          { err: errorMessage(error), code: awsErrorName(error), attempt },
          'writing SHARD_END failed; retrying',
        );
        if (signal.aborted) return false;
        await sleep(backoffDelay({ initialDelayMs: 250, maxDelayMs: 10_000 }, attempt), signal);
        if (signal.aborted) return false;
      }
    }
  }

  private async writeProgress(): Promise<void> {
    if (this.leaseLost || this.ending) return;
    const position = this.deps.processor.checkpointable();
    if (!position || (this.lastWritten && comparePositions(position, this.lastWritten) <= 0)) {
      return;
    }
    try {
      await this.write(position);
      this.lastWritten = position;
      this.deps.processor.checkpointed?.(position);
    } catch (error) {
      if (!(error instanceof LeaseLostError)) {
        this.deps.log.warn({ err: errorMessage(error) }, 'checkpoint failed; will retry');
      }
    }
  }

  /** Runs `write` after every checkpoint write queued before it. */
  private serialized(write: () => Promise<void>): Promise<void> {
    const run = this.writes.then(write);
    this.writes = run.catch(() => undefined);
    return run;
  }

  private async write(checkpoint: CheckpointWrite): Promise<void> {
    try {
      await this.deps.writer.write(this.deps.shardId, checkpoint);
      this.deps.onWritten();
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.leaseLost = true;
        this.deps.onLeaseLost();
      }
      throw error;
    }
  }
}
