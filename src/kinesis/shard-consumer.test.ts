import { describe, expect, it } from 'vitest';
import type { _Record } from '@aws-sdk/client-kinesis';
import { sleep } from '../core/backoff.js';
import type { CheckpointWrite, CheckpointWriter } from '../core/checkpoint.js';
import type { RecordProcessor } from '../core/processor.js';
import type { RecordPosition, UserRecord } from '../core/record.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { ShardConsumer } from './shard-consumer.js';
import type { RecordsPage, ShardReadApi } from './stream-api.js';
import { kinesisRecord, TEST_SHARD, testSequence } from '../../test/support/kinesis-record.js';
import { FAST_SHARD_OPTIONS } from '../../test/support/shard-consumer-options.js';

const SHARD = TEST_SHARD;
const sequence = testSequence;

/** A closed shard of records 1..count, read in one page. */
function closedShard(count: number): ShardReadApi {
  return {
    stream: 'stream-1',
    getShardIterator: async () => 'iterator-0',
    getRecords: async (): Promise<RecordsPage> => ({
      records: Array.from({ length: count }, (_, i) => kinesisRecord(i + 1)),
      nextIterator: null,
      millisBehindLatest: 0,
    }),
  };
}

/** Acknowledges records once the loop waits for the drain (the sinks' final flush). */
class DrainingProcessor implements RecordProcessor {
  private last: UserRecord | undefined;
  private drainedAll = false;
  async process(records: readonly UserRecord[]): Promise<void> {
    this.last = records.at(-1) ?? this.last;
  }
  checkpointable(): RecordPosition | null {
    return this.drainedAll ? (this.last ?? null) : null;
  }
  async drained(): Promise<void> {
    this.drainedAll = true;
  }
}

/** Writes one at a time, in call order, as the lease renewer does for one lease. */
class SerialWriter implements CheckpointWriter {
  readonly written: CheckpointWrite[] = [];
  private chain: Promise<void> = Promise.resolve();
  constructor(private readonly slowShardEndMs: number) {}
  write(_shardId: string, checkpoint: CheckpointWrite): Promise<void> {
    this.chain = this.chain.then(async () => {
      if (checkpoint === 'SHARD_END') await sleep(this.slowShardEndMs);
      this.written.push(checkpoint);
    });
    return this.chain;
  }
  idle(): Promise<void> {
    return this.chain;
  }
}

const options = FAST_SHARD_OPTIONS;

function consumer(api: ShardReadApi, processor: RecordProcessor, checkpoints: CheckpointWriter) {
  return new ShardConsumer({
    api,
    shardId: SHARD,
    startFrom: 'TRIM_HORIZON',
    processor,
    checkpoints,
    waitForParents: async () => true,
    options,
    log: createLogger('silent'),
    metrics: createMetrics(),
  });
}

describe('ShardConsumer checkpoints', () => {
  it('a timer checkpoint queued during the SHARD_END write never overwrites SHARD_END', async () => {
    const writer = new SerialWriter(200);
    const outcome = await consumer(closedShard(7), new DrainingProcessor(), writer).run();
    expect(outcome).toBe('shard-end');
    await writer.idle();
    await sleep(50);
    await writer.idle();
    expect(writer.written.at(-1)).toBe('SHARD_END');
    expect(writer.written.filter((checkpoint) => checkpoint === 'SHARD_END')).toHaveLength(1);
  });

  it('a SHARD_END write that fails once (DynamoDB throttled) is retried, not given up', async () => {
    const written: CheckpointWrite[] = [];
    let failures = 0;
    const writer: CheckpointWriter = {
      write: async (_shard, checkpoint) => {
        if (checkpoint === 'SHARD_END' && failures++ === 0) {
          throw Object.assign(new Error('throttled'), {
            name: 'ProvisionedThroughputExceededException',
          });
        }
        written.push(checkpoint);
      },
    };
    const outcome = await consumer(closedShard(7), new DrainingProcessor(), writer).run();
    expect(outcome).toBe('shard-end');
    expect(written.at(-1)).toBe('SHARD_END');
  });

  it('never writes a position behind one already written, however slow the writes', async () => {
    let acknowledged = 0;
    const processor: RecordProcessor = {
      process: async () => undefined,
      checkpointable: () =>
        acknowledged > 0 ? { sequenceNumber: sequence(acknowledged), subSequenceNumber: 0 } : null,
      drained: async () => undefined,
    };
    const written: string[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const writer: CheckpointWriter = {
      // Not serialized: a later write may finish first unless the consumer orders them.
      write: async (_shard, checkpoint) => {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await sleep(written.length % 2 === 0 ? 30 : 1);
        if (typeof checkpoint !== 'string' && 'sequenceNumber' in checkpoint)
          written.push(checkpoint.sequenceNumber);
        inFlight -= 1;
      },
    };
    const loop = consumer(closedShard(0), processor, writer);
    const calls: Array<Promise<void>> = [];
    for (let n = 1; n <= 6; n += 1) {
      acknowledged = n;
      calls.push(loop.checkpointProgress());
      await sleep(5);
    }
    await Promise.all(calls);
    await loop.checkpointProgress();
    expect(mostInFlight).toBe(1);
    const numbers = written.map((value) => BigInt(value));
    for (let i = 1; i < numbers.length; i += 1) expect(numbers[i]! > numbers[i - 1]!).toBe(true);
    expect(written.at(-1)).toBe(sequence(6));
  });
});
