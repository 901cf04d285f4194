import type { ChunkedPage, PageAnswer, PageTask } from '../pipeline/workers/page-chunker.js';
import type { RecordPosition, UserRecord } from './record.js';

/**
 * What a shard loop hands its records to. Records are acknowledged asynchronously (by
 * every sink they were routed to); the processor tracks that per shard, in order.
 */
export interface RecordProcessor {
  /**
   * Accepts records in shard order; resolves once they are routed (waits on backpressure).
   * `handOver`: the caller never reads `records` again, so the processor clears each entry
   * once that record is routed. A routed record is then garbage at once instead of living
   * until the whole page is routed: V8's young-generation collections during the routing
   * of a page promoted its records, bytes and all, to the old generation, where they
   * waited for a full collection (docs/performance.md).
   */
  process(records: readonly UserRecord[], handOver?: PageHandOver): Promise<void>;
  /**
   * A page a decode worker read whole (see ShardPipeline.processPage); only processors
   * built with such workers have it.
   */
  processPage?(shardId: string, page: ChunkedPage): Promise<void>;
  /** Reads a GetRecords body off the main thread, for processPage (when it can). */
  readonly chunkPage?: ((task: PageTask) => Promise<PageAnswer>) | undefined;
  /** The last position below which every record has been acknowledged, if any. */
  checkpointable(): RecordPosition | null;
  /** The checkpoint was written at `position`: state below it may be forgotten. */
  checkpointed?(position: RecordPosition): void;
  /** Resolves when every record handed over so far has been acknowledged. */
  drained(): Promise<void>;
  /** The shard was read to its end: no record will follow the last one handed over. */
  endOfShard?(): void;
  /** The loop stopped before the shard's end (lease lost, shutdown, failure). */
  release?(): void;
}

/** The caller's array, given up to the processor (see RecordProcessor.process). */
export interface PageHandOver {
  readonly records: Array<UserRecord | undefined>;
}
