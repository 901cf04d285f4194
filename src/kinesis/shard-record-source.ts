import type { _Record } from '@aws-sdk/client-kinesis';
import type { IteratorStart } from './stream-api.js';

/**
 * Where a shard's records come from when not from GetRecords polling: enhanced fan-out's
 * SubscribeToShard (src/kinesis/fanout). The shard loop keeps everything else: the skip of
 * already-handled records, acknowledgements, checkpoints, SHARD_END and the metrics.
 */
export interface ShardRecordSource {
  /** Reads the shard from `start` until its end (true) or until `signal` stops it (false). */
  read(
    shardId: string,
    start: IteratorStart,
    batches: ShardBatches,
    signal: AbortSignal,
  ): Promise<boolean>;
}

/** What a record source hands its records to. */
export interface ShardBatches {
  /**
   * Routes one batch into the processor; resolves once the sinks took it (backpressure).
   * Rejects, with nothing routed, when the loop stopped first: the source stops too.
   */
  deliver(records: readonly _Record[], millisBehindLatest: number | null): Promise<void>;
  /** The start record was trimmed: the source reads from TRIM_HORIZON instead. */
  trimmed(sequenceNumber: string, reason: string): void;
  /** A read was throttled (counted in kinesis_relay_get_records_throttles_total). */
  throttled(): void;
  /**
   * Set for a LATEST start: the time the loop began (pinned in the lease). A source that
   * subscribes again before any position came back starts AT_TIMESTAMP there: LATEST
   * again would be the tip at that moment, and a record put in between never read.
   */
  readonly latestStartedAt?: Date | null;
}
