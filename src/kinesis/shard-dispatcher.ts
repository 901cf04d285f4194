import type { RecordProcessor } from '../core/processor.js';
import type { RecordPosition, UserRecord } from '../core/record.js';
import type { Logger } from '../observability/logger.js';
import { appendUserRecords } from './deaggregate.js';
import { recordsAfter } from './iterator-start.js';
import type { _Record } from '@aws-sdk/client-kinesis';
import type { ShardReadMetrics } from './shard-read-metrics.js';
import type { ChunkedPage, PageAnswer } from '../pipeline/workers/page-chunker.js';

export interface ShardDispatcherDeps {
  readonly stream: string;
  readonly shardId: string;
  readonly processor: RecordProcessor;
  readonly log: Logger;
  readonly metrics: ShardReadMetrics;
}

/**
 * What both ways of reading a shard (GetRecords polling, a ShardRecordSource) do the same
 * with what they read: Kinesis records as user records, the skip of records already
 * handled, the hand-over to the processor, the position of the last record handed over
 * (where a re-read resumes), and the report of a trimmed start.
 */
export class ShardDispatcher {
  private dispatched: RecordPosition | null = null;

  constructor(private readonly deps: ShardDispatcherDeps) {}

  /** The last record handed to the processor (null: none yet). */
  get lastDispatched(): RecordPosition | null {
    return this.dispatched;
  }

  /** Records between the start record and the oldest one kept are lost to the retention. */
  reportTrimmed(sequenceNumber: string, reason: string): void {
    this.deps.metrics.checkpointTrimmed();
    this.deps.log.error(
      { sequenceNumber, reason },
      'the record to resume from was trimmed (older than the stream retention): resuming at TRIM_HORIZON; records in between are lost',
    );
  }

  /** The records after `skipThrough` into the processor, waiting on the sinks. */
  async route(
    userRecords: UserRecord[],
    skipThrough: RecordPosition | null,
    millisBehindLatest: number | null,
  ): Promise<void> {
    const records = recordsAfter(userRecords, skipThrough);
    this.deps.metrics.observe(records, millisBehindLatest);
    const last = records[records.length - 1];
    if (last) {
      // Handed over: the pipeline clears each entry once routed, so the page does not keep
      // routed records alive (nor get them promoted) while the rest of it is routed.
      await this.deps.processor.process(records, { records });
      this.dispatched = {
        sequenceNumber: last.sequenceNumber,
        subSequenceNumber: last.subSequenceNumber,
      };
    }
  }

  /**
   * Reads a GetRecords body off the main thread when the processor can take its answer
   * (routePage); undefined: read pages with the SDK and `route` their records.
   */
  get chunkPage():
    ((body: Uint8Array, skipThrough: RecordPosition | null) => Promise<PageAnswer>) | undefined {
    const { processor, stream, shardId } = this.deps;
    const chunk = processor.chunkPage;
    if (!chunk || !processor.processPage) return undefined;
    return (body, skipThrough) =>
      chunk({ body: ownBuffer(body), streamName: stream, shardId, skipThrough });
  }

  /** A page read by chunkPage into the processor, as `route` hands over records. */
  async routePage(page: ChunkedPage): Promise<void> {
    this.deps.metrics.observeCounts(
      page.userRecords,
      page.dataBytes,
      page.lastArrivalMs,
      page.millisBehindLatest,
    );
    const last = page.last;
    if (!last || !this.deps.processor.processPage) return;
    await this.deps.processor.processPage(this.deps.shardId, page);
    this.dispatched = last;
  }

  /** Kinesis records as user records (their bytes views of the page: see deaggregate). */
  toUserRecords(records: readonly _Record[]): UserRecord[] {
    const userRecords: UserRecord[] = [];
    for (const record of records) {
      appendUserRecords(record, this.deps.stream, this.deps.shardId, userRecords);
    }
    return userRecords;
  }
}

/**
 * The body's bytes in an ArrayBuffer of their own, to transfer to a worker. A view of a
 * larger buffer is copied: a small body's bytes are a slice of Node's shared pool, which
 * cannot be transferred (and must not be: it holds other Buffers), and `Buffer#slice`
 * would only make another view of it.
 */
function ownBuffer(body: Uint8Array): ArrayBuffer {
  const buffer = body.buffer;
  if (
    buffer instanceof ArrayBuffer &&
    body.byteOffset === 0 &&
    body.byteLength === buffer.byteLength
  ) {
    return buffer;
  }
  return new Uint8Array(body).buffer;
}
