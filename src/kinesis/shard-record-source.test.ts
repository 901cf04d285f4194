import { describe, expect, it } from 'vitest';
import type { _Record } from '@aws-sdk/client-kinesis';
import type { CheckpointWrite } from '../core/checkpoint.js';
import type { RecordProcessor } from '../core/processor.js';
import type { RecordPosition, UserRecord } from '../core/record.js';
import { kplAggregate } from '../demo/producer.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { ShardConsumer } from './shard-consumer.js';
import type { ShardRecordSource } from './shard-record-source.js';
import type { IteratorStart, ShardReadApi } from './stream-api.js';
import { FAST_SHARD_OPTIONS } from '../../test/support/shard-consumer-options.js';

const SHARD = 'shardId-000000000007';
const AGGREGATE = '49000000000000000000000000000000000000000000000000000001';
const LATER = '49000000000000000000000000000000000000000000000000000002';

/** A KPL aggregate of five user records (sub-records 0..4), and one plain record after it. */
const aggregate: _Record = {
  SequenceNumber: AGGREGATE,
  PartitionKey: 'pk',
  Data: kplAggregate(
    [0, 1, 2, 3, 4].map((n) => ({ partitionKey: 'pk', data: Buffer.from(`{"n":${n}}`) })),
  ).data,
  ApproximateArrivalTimestamp: new Date(),
};
const later: _Record = {
  SequenceNumber: LATER,
  PartitionKey: 'pk',
  Data: Buffer.from('{"n":5}'),
  ApproximateArrivalTimestamp: new Date(),
};

/** Acknowledges everything it was given. */
class Collecting implements RecordProcessor {
  readonly seen: RecordPosition[] = [];
  async process(records: readonly UserRecord[]): Promise<void> {
    for (const { sequenceNumber, subSequenceNumber } of records)
      this.seen.push({ sequenceNumber, subSequenceNumber });
  }
  checkpointable(): RecordPosition | null {
    return this.seen.at(-1) ?? null;
  }
  async drained(): Promise<void> {}
}

describe('ShardConsumer with a record source (fan-out)', () => {
  it('a re-subscription that re-sends the checkpointed aggregate hands over only the sub-records after the checkpoint, each once, then SHARD_END', async () => {
    const starts: IteratorStart[] = [];
    // As SubscribeToShard from AT_SEQUENCE_NUMBER, then again after a dropped subscription.
    const source: ShardRecordSource = {
      read: async (_shardId, start, batches) => {
        starts.push(start);
        await batches.deliver([aggregate], 1000);
        await batches.deliver([aggregate, later], 0);
        return true;
      },
    };
    const api: ShardReadApi = {
      stream: 'stream-1',
      getShardIterator: () => Promise.reject(new Error('a record source never polls')),
      getRecords: () => Promise.reject(new Error('a record source never polls')),
    };
    const written: CheckpointWrite[] = [];
    const processor = new Collecting();
    const metrics = createMetrics();
    const outcome = await new ShardConsumer({
      api,
      shardId: SHARD,
      startFrom: { sequenceNumber: AGGREGATE, subSequenceNumber: 2 },
      processor,
      checkpoints: { write: async (_shard, checkpoint) => void written.push(checkpoint) },
      waitForParents: async () => true,
      options: FAST_SHARD_OPTIONS,
      log: createLogger('silent'),
      metrics,
      source,
    }).run();

    expect(outcome).toBe('shard-end');
    expect(starts).toEqual([{ type: 'AT_SEQUENCE_NUMBER', sequenceNumber: AGGREGATE }]);
    expect(processor.seen).toEqual([
      { sequenceNumber: AGGREGATE, subSequenceNumber: 3 },
      { sequenceNumber: AGGREGATE, subSequenceNumber: 4 },
      { sequenceNumber: LATER, subSequenceNumber: 0 },
    ]);
    expect(written.at(-1)).toBe('SHARD_END');
    const behind = await metrics.millisBehindLatest.get();
    expect(behind.values.find((v) => v.labels.shard === SHARD)?.value).toBe(0);
  });
});
