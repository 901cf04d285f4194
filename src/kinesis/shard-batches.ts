import type { ReadPermits } from '../core/read-permits.js';
import type { RecordPosition } from '../core/record.js';
import type { ShardDispatcher } from './shard-dispatcher.js';
import type { ShardReadMetrics } from './shard-read-metrics.js';
import type { ShardBatches } from './shard-record-source.js';
import type { IteratorStart } from './stream-api.js';

export interface ShardBatchesDeps {
  readonly shardId: string;
  readonly metrics: ShardReadMetrics;
  readonly dispatcher: ShardDispatcher;
  /** The shard loop's read permits (see ShardConsumerDeps.readPermits). */
  readonly readPermits?: Pick<ReadPermits, 'acquire'>;
  /** Stops the loop (the shard loop's stop or lost lease). */
  readonly signal: AbortSignal;
}

/**
 * The record source's side of the loop. Its skip rule is the polling one: nothing at or
 * before the last record handed over, or before it the checkpoint (a sequence-number
 * start reads AT the checkpointed, possibly partly processed, aggregate). A first record
 * later than the AT_SEQUENCE_NUMBER start means Kinesis no longer holds the start record
 * (kinesis-local then subscribes at the oldest one kept): reported as trimmed, as polling.
 * `startCheckpoint`: the lease's record position when the loop began.
 */
export function shardBatches(
  deps: ShardBatchesDeps,
  start: IteratorStart,
  latestStartedAt: Date | null,
  startCheckpoint: RecordPosition | null,
): ShardBatches {
  const { dispatcher } = deps;
  let checkpointed = startCheckpoint;
  let expectFirst = start.type === 'AT_SEQUENCE_NUMBER' ? start.sequenceNumber : null;
  return {
    deliver: async (records, millisBehindLatest) => {
      const signal = deps.signal;
      const release = deps.readPermits ? await deps.readPermits.acquire(signal) : noop;
      try {
        // Stopped before routing (a permit wait ends at once on abort): the batch was not
        // delivered, and the source must not take it as delivered. Returning here let the
        // source end a closed shard on its last event, and SHARD_END was written past
        // that event's undelivered records.
        if (signal.aborted) throw new ShardLoopStoppedError(deps.shardId);
        deps.metrics.markRead();
        const first = records[0]?.SequenceNumber;
        if (first !== undefined && expectFirst !== null) {
          if (BigInt(first) > BigInt(expectFirst)) {
            dispatcher.reportTrimmed(expectFirst, `the subscription started at ${first}`);
            checkpointed = null;
          }
          expectFirst = null;
        }
        await dispatcher.route(
          dispatcher.toUserRecords(records),
          dispatcher.lastDispatched ?? checkpointed,
          millisBehindLatest,
        );
      } finally {
        release();
      }
    },
    trimmed: (sequenceNumber, reason) => {
      dispatcher.reportTrimmed(sequenceNumber, reason);
      checkpointed = null;
      expectFirst = null;
    },
    throttled: () => deps.metrics.throttled(),
    latestStartedAt,
  };
}

function noop(): void {}

/** A batch offered to a shard loop that has stopped: it was not routed. */
class ShardLoopStoppedError extends Error {
  override readonly name = 'ShardLoopStoppedError';
  constructor(shardId: string) {
    super(`the loop of ${shardId} stopped before the batch was routed`);
  }
}
