import type { AckHandle } from '../core/ack.js';
import { errorMessage } from '../core/errors.js';
import type { RelayEvent } from '../core/event.js';
import type { PageHandOver, RecordProcessor } from '../core/processor.js';
import type { RecordPosition, UserRecord } from '../core/record.js';
import type { Decoder, DecodeResult } from '../decode/decoder.js';
import { deadLetterEntry } from '../sinks/dead-letter-entry.js';
import type { DeadLetterSink, Sink } from '../sinks/sink.js';
import type { Router } from './router.js';
import { ShardProgress } from './shard-progress.js';
import type { DecodePool } from './workers/decode-pool.js';
import {
  PageChunker,
  type ChunkedPage,
  type PageAnswer,
  type PageTask,
} from './workers/page-chunker.js';
import type { WorkerEncoded, WorkerRecordResult } from './workers/page-codec.js';

/**
 * Counts an event dead-lettered for a sink that threw on it (see refuse), as the sink's own
 * dead-lettered events are counted (kinesis_relay_sink_records_total, sinkDeadLetterCounter).
 */
export type SinkDeadLettered = (sink: string) => void;

/**
 * One shard's path from records to sinks: decode, route, hand each event to its sinks
 * with an acknowledgement handle, and wait while any sink is over its in-flight bound.
 * A record that cannot be decoded goes to the dead-letter sink and the shard goes on.
 */
export class ShardPipeline implements RecordProcessor {
  private readonly progress = new ShardProgress();
  /** Learnt from the first record: one pipeline serves one shard. */
  private shardId: string | null = null;

  // Positional, the counter last: bench/pipeline-ab.ts builds pipelines of older builds
  // with the same arguments, and an older constructor ignores the one it does not know.
  constructor(
    private readonly decoder: Decoder,
    private readonly router: Router,
    private readonly deadLetter: DeadLetterSink,
    /** Null: decode and encode here, on the main thread (consumer.workerThreads 0). */
    private readonly pool:
      (Pick<DecodePool, 'decode'> & Partial<Pick<DecodePool, 'chunkPage' | 'chunks'>>) | null,
    private readonly sinkDeadLettered: SinkDeadLettered,
  ) {
    this.chunker = pool?.chunks ? new PageChunker(pool.chunks) : null;
  }

  /**
   * Where every sink takes chunks (the pool reads whole pages), the records of a page read
   * otherwise (by the SDK: a shard's last page, with its child shards; or by enhanced
   * fan-out) are chunked here, so those sinks get chunks only (ObjectBatch.addStoredChunk).
   */
  private readonly chunker: PageChunker | null;

  async process(records: readonly UserRecord[], handOver?: PageHandOver): Promise<void> {
    // In a method of its own: a temporary holding records[0] in this frame kept a
    // handed-over page's first record alive until the page was routed.
    this.learnShard(records);
    if (this.chunker) {
      const shardId = this.shardId;
      if (shardId === null) return;
      const page = await this.chunker.chunkRecords(records, null, {
        nextIterator: null,
        millisBehindLatest: null,
        kinesisRecords: records.length,
      });
      await this.processPage(shardId, page);
      return;
    }
    // A handed-over page's entries are cleared as they are routed (see RecordProcessor).
    const slots = handOver?.records === records ? handOver.records : null;
    if (this.pool) {
      // Nothing of the page is begun before the workers answer: a failed page (a crashed
      // worker) leaves no trace, and the shard loop reads it again like any failed read.
      const results = await this.pool.decode(records);
      this.routeDecoded(records, results, slots);
    } else {
      this.routeHere(records, slots);
    }
    await this.backpressure();
  }

  /**
   * Reads a GetRecords body in a worker, where every sink takes chunks (see
   * DecodeWorkerSpec.chunks); undefined otherwise. Its answer goes to processPage.
   */
  get chunkPage(): ((task: PageTask) => Promise<PageAnswer>) | undefined {
    const pool = this.pool;
    const chunkPage = pool?.chunkPage;
    return pool?.chunks && chunkPage ? (task) => chunkPage.call(pool, task) : undefined;
  }

  /**
   * A page read, decoded and encoded by a worker (PageChunker): its chunks into their sinks
   * and its dead-letter entries into the dead-letter sink, all acknowledged as one record
   * at the page's last position. The checkpoint then moves page by page, not record by
   * record: after a crash up to a page more is delivered again, which at-least-once allows.
   */
  async processPage(shardId: string, page: ChunkedPage): Promise<void> {
    if (!page.last) return;
    this.shardId ??= shardId;
    const pending = this.progress.begin(page.last);
    const sinks = this.router.sinks;
    for (const entry of page.deadLetters) {
      if (entry.reason === 'sink_rejected' && entry.sink !== null)
        this.sinkDeadLettered(entry.sink);
      this.deadLetter.write(entry, pending.expect());
    }
    for (const chunk of page.chunks) {
      const sink = sinks[chunk.sinkIndex];
      if (!sink?.writeChunk)
        throw new Error(`unreachable: a chunk for sink ${chunk.sinkIndex}, which takes none`);
      sink.writeChunk(chunk, pending.expect());
    }
    pending.settle();
    await this.backpressure();
  }

  private learnShard(records: readonly UserRecord[]): void {
    if (this.shardId === null && records.length > 0) this.shardId = records[0]?.shardId ?? null;
  }

  private routeHere(
    records: readonly UserRecord[],
    slots: Array<UserRecord | undefined> | null,
  ): void {
    for (let index = 0; index < records.length; index += 1) {
      const record = records[index];
      if (!record) throw new Error('unreachable: a page routed twice');
      if (slots) slots[index] = undefined;
      const pending = this.progress.begin(record);
      const result = this.decoder.decode(record);
      if (!result.ok) {
        this.deadLetter.write(
          deadLetterEntry(record, 'decode_failed', result.error),
          pending.expect(),
        );
      } else {
        for (const event of result.events) this.router.write(event, pending, this.refused);
      }
      pending.settle();
    }
  }

  /**
   * As routeHere, with the workers' verdicts: the same routing, acknowledgement handles and
   * dead-letter entries, in the same order. A sink the workers did not encode for (Redshift,
   * Parquet) gets the event decoded here again: decoders are pure functions of the record,
   * so it is the event the worker saw.
   */
  private routeDecoded(
    records: readonly UserRecord[],
    results: readonly WorkerRecordResult[],
    slots: Array<UserRecord | undefined> | null,
  ): void {
    for (let index = 0; index < records.length; index += 1) {
      const record = records[index];
      const result = results[index];
      if (!record || !result) throw new Error('a decode result per record');
      if (slots) slots[index] = undefined;
      const pending = this.progress.begin(record);
      if (!result.ok) {
        this.deadLetter.write(
          deadLetterEntry(record, 'decode_failed', result.error),
          pending.expect(),
        );
        pending.settle();
        continue;
      }
      let here: DecodeResult | null = null;
      for (let eventIndex = 0; eventIndex < result.events.length; eventIndex += 1) {
        const event = result.events[eventIndex];
        if (!event) continue;
        this.router.routeFields(event.type, event.format, record.streamName, (sink, sinkIndex) => {
          const encoded = event.encoded[sinkIndex];
          if (encoded && sink.writeEncoded) {
            this.deliver(sink, record, pending.expect(), encoded);
            return;
          }
          here ??= this.decoder.decode(record);
          const full = here.ok ? here.events[eventIndex] : undefined;
          const ack = pending.expect();
          if (full?.type !== event.type) {
            // A decoder can run out of stack here and not in a worker (about 1 MB against
            // 4 MB: JSON text of a value nested thousands deep). Thrown, this left the page
            // half routed and its record never acknowledged; the sink cannot have it.
            const why = here.ok ? `event ${eventIndex} differs` : here.error;
            const error = new Error(`decoded in a worker but not on the main thread: ${why}`);
            this.refuse(sink, record, error, ack);
            return;
          }
          this.deliver(sink, record, ack, full);
        });
      }
      pending.settle();
    }
  }

  /**
   * Writes one routed event to a sink: the worker's line for it, or the event decoded here.
   * A sink that throws on it has it refused. A method, not a callback: the per-event path
   * makes no closure for it.
   */
  private deliver(
    sink: Sink,
    record: UserRecord,
    ack: AckHandle,
    event: RelayEvent | WorkerEncoded,
  ): void {
    try {
      if (!('line' in event)) sink.write(event, ack);
      else if (sink.writeEncoded) sink.writeEncoded(event, record, ack);
      else throw new Error('unreachable: a worker line for a sink that takes none');
    } catch (error) {
      this.refuse(sink, record, error, ack);
    }
  }

  /** Router.write's `refused`: bound once, so routing makes no closure per event. */
  private readonly refused = (sink: Sink, event: RelayEvent, error: unknown, ack: AckHandle) =>
    this.refuse(sink, event.record, error, ack);

  /**
   * A sink threw on an event instead of taking it (its encoder failed: JSON.stringify runs
   * out of stack on a document nested thousands deep, which JSON.parse reads): no retry can
   * change that, so the record goes to the dead-letter writer for that sink, which
   * acknowledges the handle once stored. Left unacknowledged it held the shard's checkpoint
   * for ever, and the shard loop re-read (and re-delivered) the page on every retry.
   */
  private refuse(sink: Sink, record: UserRecord, error: unknown, ack: AckHandle): void {
    const reason = `sink ${sink.name} could not take the event: ${errorMessage(error)}`;
    this.sinkDeadLettered(sink.name);
    this.deadLetter.write(deadLetterEntry(record, 'sink_rejected', reason, sink.name), ack);
  }

  checkpointable(): RecordPosition | null {
    const acknowledged = this.progress.checkpointable();
    return acknowledged && this.shardId
      ? safeForEverySink(this.router.sinks, this.shardId, acknowledged)
      : acknowledged;
  }

  checkpointed(position: RecordPosition): void {
    const shardId = this.shardId;
    if (shardId) for (const sink of this.router.sinks) sink.checkpointed?.(shardId, position);
  }

  endOfShard(): void {
    const shardId = this.shardId;
    if (shardId) for (const sink of this.router.sinks) sink.endOfShard?.(shardId);
  }

  release(): void {
    const shardId = this.shardId;
    if (shardId) for (const sink of this.router.sinks) sink.releaseShard?.(shardId);
  }

  /**
   * Resolves once every record handed over is acknowledged. Its callers (a graceful
   * handoff, SHARD_END) read no more of the shard, so nothing more will join the open
   * batches holding its events: they are written now rather than at their maxAgeMs (60 s
   * by default for S3 and Redshift), which outlasted a handoff's drain budget (15 s at the
   * default failoverMs), so the lease went over with its checkpoint behind records that
   * were still delivered, and the next owner delivered them again. An exactly-once sink
   * keeps its open segments as they are (they are read again, into the same keys).
   */
  drained(): Promise<void> {
    if (this.progress.inFlight > 0) {
      for (const sink of this.router.sinks) sink.cutOpenBatches?.();
      void this.deadLetter.flush().catch(() => undefined);
    }
    return this.progress.drained();
  }

  private async backpressure(): Promise<void> {
    for (const sink of this.router.sinks) {
      const wait = sink.waitForCapacity();
      if (wait) await wait;
    }
    const wait = this.deadLetter.waitForCapacity();
    if (wait) await wait;
  }
}

/**
 * Moves a checkpoint back until no sink that rebuilds its output on replay (exactly-once
 * S3) has a batch straddling it; one sink moving it back can put it inside another's.
 * Sinks answer without forgetting anything (they forget on `checkpointed`), so the answer
 * does not depend on the order of the sinks.
 */
function safeForEverySink(
  sinks: readonly Sink[],
  shardId: string,
  acknowledged: RecordPosition,
): RecordPosition | null {
  let position: RecordPosition | null = acknowledged;
  for (let changed = true; changed && position;) {
    changed = false;
    for (const sink of sinks) {
      if (!position || !sink.safeCheckpoint) continue;
      const safe: RecordPosition | null = sink.safeCheckpoint(shardId, position);
      if (safe !== position) changed = true;
      position = safe;
    }
  }
  return position;
}
