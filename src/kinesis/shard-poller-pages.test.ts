import { describe, expect, it } from 'vitest';
import type { _Record } from '@aws-sdk/client-kinesis';
import type { RecordProcessor } from '../core/processor.js';
import type { PageSize } from '../core/read-permits.js';
import type { RecordPosition, UserRecord } from '../core/record.js';
import { ReadPause } from '../leases/read-pause.js';
import {
  PageChunker,
  type ChunkedPage,
  type PageAnswer,
  type PageTask,
} from '../pipeline/workers/page-chunker.js';
import type { RecordsPage, ShardReadApi } from './stream-api.js';
import { getRecordsBody, kinesisRecord, testSequence } from '../../test/support/kinesis-record.js';
import { pollingLoop, waitFor } from '../../test/support/polling-loop.js';

/*
 * The GetRecords loop reading whole pages (shard-poller.ts, readAndRouteChunked): bodies go
 * to the processor's chunkPage (here a PageChunker in process, as a decode worker runs it)
 * and its answers to processPage. Every record once and in order, through a re-open, a
 * body the chunker leaves to the SDK's reader, and a lease paused while a page was read.
 */

const sequence = testSequence;

/**
 * An open shard of `count` records, pages of 5, iterators are positions; `fault(call)` may
 * throw instead of answering body call number `call` (0-based). Counts both readers.
 */
function openShard(count: number, fault: (call: number) => Error | undefined = () => undefined) {
  const records = Array.from({ length: count }, (_, i) => kinesisRecord(i + 1));
  const page = (iterator: string, limit: number) => {
    const from = Number(iterator.slice(3));
    const taken = records.slice(from, from + Math.min(limit, 5));
    const next = from + taken.length;
    return { taken, next: `at:${next}`, behind: (count - next) * 1000 };
  };
  const counts = { bodies: 0, sdk: 0 };
  const api: ShardReadApi = {
    stream: 'stream-1',
    getShardIterator: async (_shard, start) => {
      if (start.type === 'TRIM_HORIZON') return 'at:0';
      if (start.type !== 'AT_SEQUENCE_NUMBER') throw new Error(`unexpected ${start.type}`);
      return `at:${records.findIndex((r) => r.SequenceNumber === start.sequenceNumber)}`;
    },
    getRecords: async (iterator, limit): Promise<RecordsPage> => {
      counts.sdk += 1;
      const { taken, next, behind } = page(iterator, limit);
      return { records: taken, nextIterator: next, millisBehindLatest: behind };
    },
    getRecordsBody: async (iterator, limit) => {
      const error = fault(counts.bodies++);
      if (error) throw error;
      const { taken, next, behind } = page(iterator, limit);
      return getRecordsBody(taken, { next, behind });
    },
  };
  return { api, counts };
}

/** A processor that takes whole pages (its chunkPage refuses the bodies `refuse` names). */
class PageProcessor implements RecordProcessor {
  readonly routed: string[] = [];
  readonly viaRecords: string[] = [];
  private readonly chunker = new PageChunker({
    decodeFormat: 'json',
    streamInIds: false,
    sinks: [
      {
        name: 'archive',
        filter: { eventTypes: [], formats: [] },
        encoding: {
          format: 'jsonl',
          verbatimJson: false,
          layout: { layout: 'hourly', sinkName: 'archive', prefix: '', compression: 'none' },
        },
        maxEvents: 1000,
        maxBytes: 1 << 20,
        gzipLevel: 6,
        keepsRecords: false,
      },
    ],
  });

  constructor(private readonly refuse: (task: PageTask) => boolean = () => false) {}

  readonly chunkPage = async (task: PageTask): Promise<PageAnswer> =>
    this.refuse(task) ? { parsed: false } : this.chunker.chunkPage(task);

  async processPage(_shardId: string, page: ChunkedPage): Promise<void> {
    for (const chunk of page.chunks) {
      for (const line of Buffer.from(chunk.body).toString().split('\n').filter(Boolean)) {
        const { kinesis } = JSON.parse(line) as { kinesis: { sequence_number: string } };
        this.routed.push(kinesis.sequence_number);
      }
    }
  }

  async process(records: readonly UserRecord[]): Promise<void> {
    for (const record of records) {
      this.routed.push(record.sequenceNumber);
      this.viaRecords.push(record.sequenceNumber);
    }
  }

  checkpointable(): RecordPosition | null {
    const last = this.routed.at(-1);
    return last ? { sequenceNumber: last, subSequenceNumber: 0 } : null;
  }

  async drained(): Promise<void> {}
}

const all = (count: number) => Array.from({ length: count }, (_, i) => sequence(i + 1));

describe('ShardPoller reading whole pages', () => {
  it('reads bodies, not records, and hands every record over once, in order, through a re-open', async () => {
    // Body call 2 fails with a 5xx: the loop re-opens AT the last record handed over, and
    // the chunker skips that record (skipThrough), as the record path does.
    const shard = openShard(20, (call) =>
      call === 2
        ? Object.assign(new Error('InternalFailure'), { name: 'InternalFailure' })
        : undefined,
    );
    const processor = new PageProcessor();
    const loop = pollingLoop(shard.api, processor);
    const done = loop.run();
    await waitFor('every record', () => processor.routed.length >= 20);
    loop.stop();
    expect(await done).toBe('stopped');
    expect(processor.routed).toEqual(all(20));
    expect(processor.viaRecords).toEqual([]);
    expect(shard.counts.sdk).toBe(0);
  });

  it("reads a body the chunker does not take again with the SDK's reader, and routes it record by record", async () => {
    const shard = openShard(20);
    // The third page (records 11-15) is left to the SDK, as a page with child shards is.
    const processor = new PageProcessor((task) =>
      Buffer.from(task.body)
        .toString()
        .includes(`"${sequence(11)}"`),
    );
    const loop = pollingLoop(shard.api, processor);
    const done = loop.run();
    await waitFor('every record', () => processor.routed.length >= 20);
    loop.stop();
    expect(await done).toBe('stopped');
    expect(processor.routed).toEqual(all(20));
    expect(processor.viaRecords).toEqual([11, 12, 13, 14, 15].map(sequence));
    expect(shard.counts.sdk).toBe(1);
  });

  it('does not route a page read while the lease was paused, and reads it again once renewed', async () => {
    const shard = openShard(20);
    const reads = new ReadPause();
    let acquired = 0;
    let answerSecond: () => void = () => undefined;
    const secondHeld = new Promise<void>((resolve) => (answerSecond = resolve));
    let chunked = 0;
    const inner = new PageProcessor();
    const processor = new PageProcessor();
    Object.assign(processor, {
      chunkPage: async (task: PageTask) => {
        // The second page is in the thread when the lease is paused.
        if (chunked++ === 1) await secondHeld;
        return inner.chunkPage(task);
      },
    });
    const gate = {
      acquire: (signal?: AbortSignal, page?: PageSize) => {
        acquired += 1;
        return reads.acquire(signal, page);
      },
      get paused() {
        return reads.paused;
      },
    };
    const loop = pollingLoop(shard.api, processor, { readPermits: gate });
    const done = loop.run();
    await waitFor('the second page in the thread', () => chunked >= 2);
    expect(processor.routed).toEqual(all(5));
    reads.pause();
    answerSecond();
    await waitFor('the loop back at its read gate', () => acquired >= 3);
    expect(processor.routed).toEqual(all(5));
    reads.resume();
    await waitFor('every record', () => processor.routed.length >= 20);
    loop.stop();
    expect(await done).toBe('stopped');
    expect(processor.routed).toEqual(all(20));
  });
});
