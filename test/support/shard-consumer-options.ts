import type { ShardConsumerOptions } from '../../src/kinesis/shard-consumer.js';

/** Shard loop timings for unit tests: pages of 100, no waits, a checkpoint every 5 ms. */
export const FAST_SHARD_OPTIONS: ShardConsumerOptions = {
  maxRecordsPerCall: 100,
  idleTimeBetweenReadsMs: 10,
  minCallIntervalMs: 0,
  checkpointIntervalMs: 5,
  initialTimestamp: null,
};
