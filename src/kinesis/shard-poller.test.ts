import { afterEach, describe, expect, it, vi } from 'vitest';
import type { _Record } from '@aws-sdk/client-kinesis';
import { sleep } from '../core/backoff.js';
import type { RecordProcessor } from '../core/processor.js';
import type { PageSize } from '../core/read-permits.js';
import type { RecordPosition, UserRecord } from '../core/record.js';
import { ReadPause } from '../leases/read-pause.js';
import { createMetrics } from '../observability/metrics.js';
import type { IteratorStart, RecordsPage, ShardReadApi } from './stream-api.js';
import { kinesisRecord, TEST_SHARD, testSequence } from '../../test/support/kinesis-record.js';
import { pollingLoop, waitFor } from '../../test/support/polling-loop.js';
import { FAST_SHARD_OPTIONS } from '../../test/support/shard-consumer-options.js';

// The GetRecords read loop (shard-poller.ts), driven as the relay drives it: a ShardConsumer
// without a record source.

const SHARD = TEST_SHARD;
const sequence = testSequence;

const options = FAST_SHARD_OPTIONS;

/**
 * An open shard of `count` records in memory; iterators are positions. `fault(call)` may
 * throw instead of answering GetRecords call number `call` (0-based).
 */
function openShard(count: number, fault: (call: number) => Error | undefined) {
  const records = Array.from({ length: count }, (_, i) => kinesisRecord(i + 1));
  const starts: IteratorStart[] = [];
  let calls = 0;
  const api: ShardReadApi = {
    stream: 'stream-1',
    getShardIterator: async (_shard, start) => {
      starts.push(start);
      if (start.type === 'TRIM_HORIZON') return 'at:0';
      if (start.type !== 'AT_SEQUENCE_NUMBER') throw new Error(`unexpected ${start.type}`);
      return `at:${records.findIndex((r) => r.SequenceNumber === start.sequenceNumber)}`;
    },
    getRecords: async (iterator, limit): Promise<RecordsPage> => {
      const error = fault(calls++);
      if (error) throw error;
      const from = Number(iterator.slice(3));
      const page = records.slice(from, from + Math.min(limit, 5));
      const next = from + page.length;
      return {
        records: page,
        nextIterator: `at:${next}`,
        millisBehindLatest: (count - next) * 1000,
      };
    },
  };
  return { api, starts, calls: () => calls };
}

function awsError(name: string): Error {
  return Object.assign(new Error(name), { name });
}

class CollectingProcessor implements RecordProcessor {
  readonly sequences: string[] = [];
  async process(records: readonly UserRecord[]): Promise<void> {
    for (const record of records) this.sequences.push(record.sequenceNumber);
  }
  checkpointable(): RecordPosition | null {
    const last = this.sequences.at(-1);
    return last ? { sequenceNumber: last, subSequenceNumber: 0 } : null;
  }
  async drained(): Promise<void> {}
}

describe('ShardConsumer under GetRecords throttling and 5xx bursts', () => {
  it('backs off through throttling and a 5xx burst, loses and repeats nothing, and catches up', async () => {
    // Calls 1-3 throttled (the SDK's own retries exhausted), calls 5-7 a 5xx burst.
    const shard = openShard(20, (call) =>
      call >= 1 && call <= 3
        ? awsError('ProvisionedThroughputExceededException')
        : call >= 5 && call <= 7
          ? awsError('InternalFailure')
          : undefined,
    );
    const processor = new CollectingProcessor();
    const metrics = createMetrics();
    const loop = pollingLoop(shard.api, processor, { metrics });
    const done = loop.run();
    const all = Array.from({ length: 20 }, (_, i) => sequence(i + 1));
    await waitFor('every record', () => processor.sequences.length >= 20);
    loop.stop();
    expect(await done).toBe('stopped');
    expect(processor.sequences).toEqual(all);
    // The page holding the last records reported the shard caught up (observed before routing).
    const lag = await metrics.registry.getSingleMetric('kinesis_relay_millis_behind_latest')?.get();
    expect(lag?.values.find((v) => v.labels.shard === SHARD)?.value).toBe(0);
    const throttles = await metrics.registry
      .getSingleMetric('kinesis_relay_getrecords_throttles_total')
      ?.get();
    expect(throttles?.values.find((v) => v.labels.shard === SHARD)?.value).toBe(3);
    // Throttling keeps the iterator; each 5xx re-fetches it AT the last record handed over.
    expect(shard.starts.slice(1)).toHaveLength(3);
    for (const start of shard.starts.slice(1)) {
      expect(start).toMatchObject({ type: 'AT_SEQUENCE_NUMBER' });
    }
  });
});

describe('ShardConsumer and the wall clock', () => {
  afterEach(() => vi.restoreAllMocks());

  it('a wall clock stepped back an hour (NTP, an operator) does not stop the shard reading for that hour', async () => {
    const stepMs = 3_600_000;
    const realNow = Date.now.bind(Date);
    const shard = openShard(20, (call) => {
      // Stepped back while the first GetRecords is in flight.
      if (call === 0) vi.spyOn(Date, 'now').mockImplementation(() => realNow() - stepMs);
      return undefined;
    });
    const processor = new CollectingProcessor();
    const loop = pollingLoop(shard.api, processor, {
      options: { ...options, minCallIntervalMs: 200 },
    });
    const done = loop.run();
    // The test's own deadline on the monotonic clock: Date.now is the stepped one.
    const deadline = performance.now() + 30_000;
    while (processor.sequences.length < 20 && performance.now() < deadline) await sleep(10);
    loop.stop();
    expect(await done).toBe('stopped');
    expect(processor.sequences).toEqual(Array.from({ length: 20 }, (_, i) => sequence(i + 1)));
  });
});

describe('ShardConsumer and a paused lease', () => {
  /**
   * A shard of 20 records in pages of 5 whose second GetRecords answers only when the test
   * says so; the loop's reads go through a real ReadPause, counted.
   */
  function pausedMidRead() {
    const shard = openShard(20, () => undefined);
    let answerSecond: () => void = () => undefined;
    const secondHeld = new Promise<void>((resolve) => (answerSecond = resolve));
    let calls = 0;
    let secondInFlight = false;
    const api: ShardReadApi = {
      ...shard.api,
      getRecords: async (iterator, limit, signal) => {
        if (calls++ === 1) {
          secondInFlight = true;
          await secondHeld;
        }
        return shard.api.getRecords(iterator, limit, signal);
      },
    };
    const reads = new ReadPause();
    let acquired = 0;
    const gate = {
      acquire: (signal?: AbortSignal, page?: PageSize) => {
        acquired += 1;
        return reads.acquire(signal, page);
      },
      get paused() {
        return reads.paused;
      },
    };
    const processor = new CollectingProcessor();
    const loop = pollingLoop(api, processor, { readPermits: gate });
    return {
      loop,
      reads,
      processor,
      answerSecond,
      secondInFlight: () => secondInFlight,
      acquired: () => acquired,
    };
  }

  it('a page whose GetRecords was in flight when the lease was paused for a handoff is not routed: the next owner reads it, not both', async () => {
    const shard = pausedMidRead();
    const done = shard.loop.run();
    await waitFor('the first page routed, the second in flight', () => shard.secondInFlight());
    expect(shard.processor.sequences).toHaveLength(5);
    // RunningShards.handOver (src/app-running-shards.ts): reads paused, in-flight records
    // drained and checkpointed ...
    shard.reads.pause();
    shard.answerSecond();
    // ... the loop is back at its read gate: the answered page is dealt with.
    await waitFor('the loop back at its read gate', () => shard.acquired() >= 3);
    // ... the lease handed over at the checkpoint (record 5), the loop stopped.
    shard.loop.loseLease();
    expect(await done).toBe('lease-lost');
    expect(shard.processor.sequences).toEqual([1, 2, 3, 4, 5].map(sequence));
  });

  it('a page read while the lease was paused is read again once renewed: every record once, in order', async () => {
    const shard = pausedMidRead();
    const done = shard.loop.run();
    await waitFor('the second page in flight', () => shard.secondInFlight());
    shard.reads.pause();
    shard.answerSecond();
    await waitFor('the loop back at its read gate', () => shard.acquired() >= 3);
    shard.reads.resume();
    await waitFor('every record', () => shard.processor.sequences.length >= 20);
    shard.loop.stop();
    expect(await done).toBe('stopped');
    expect(shard.processor.sequences).toEqual(
      Array.from({ length: 20 }, (_, i) => sequence(i + 1)),
    );
  });
});
