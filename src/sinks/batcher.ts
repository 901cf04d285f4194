import PQueue from 'p-queue';
import type { BufferConfig } from '../config/schema.js';
import { MAX_TIMEOUT_MS } from '../core/backoff.js';
import type { MemoryBudget } from '../core/memory-budget.js';
import type { RelayMetrics } from '../observability/metrics.js';
import { CapacityGate } from './capacity-gate.js';
import type { PendingBatch } from './pending-batch.js';
import { queueWrite } from './queued-write.js';

export interface BatcherOptions {
  readonly sink: string;
  readonly buffer: BufferConfig;
  readonly maxInFlightBytes: number;
  /** Batches written at once. */
  readonly concurrency: number;
  /**
   * Batches cut under one key are written one after another, in the order they were cut
   * (a lane); different keys still go out `concurrency` at once.
   */
  readonly orderedKeys?: boolean;
  /**
   * A batch past maxAgeMs stays open while its lane (or every permitted write) is busy and
   * goes out when one frees, growing up to maxRecords / maxBytes meanwhile: Kafka's
   * linger.ms with max.in.flight. Without it an aged batch queues behind the writes in
   * flight, so a slow destination gets many small batches and throughput falls to
   * concurrency x (events per age window) / latency while the backlog grows.
   */
  readonly growWhileBusy?: boolean;
  readonly metrics: RelayMetrics;
  /** The process's memory budget: what the sink holds counts there too. */
  readonly memory?: MemoryBudget;
  readonly now?: () => number;
}

/**
 * The buffering half of every sink: open batches by key, cut at maxRecords / maxBytes /
 * maxAgeMs, hand cut batches to `deliver` with bounded concurrency, and count bytes from
 * buffering until delivery against the sink's in-flight bound (its backpressure).
 * `deliver` must acknowledge or dead-letter every event of the batch before resolving.
 */
export class Batcher<B extends PendingBatch<unknown>> {
  private readonly open = new Map<string, B>();
  /** The last delivery cut under each key, while `orderedKeys` and it is not done. */
  private readonly lanes = new Map<string, Promise<void>>();
  private readonly deliveries = new Set<Promise<void>>();
  private readonly queue: PQueue;
  private readonly gate: CapacityGate;
  /** One timer, armed for the next open batch to reach maxAgeMs (`timerAt`). */
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private closed = false;
  private readonly unsubscribe: () => void;
  readonly now: () => number;

  constructor(
    private readonly options: BatcherOptions,
    private readonly deliver: (batch: B) => Promise<void>,
  ) {
    this.now = options.now ?? Date.now;
    this.queue = new PQueue({ concurrency: options.concurrency });
    this.gate = CapacityGate.forSink(
      options.sink,
      options.maxInFlightBytes,
      options.metrics,
      options.memory,
    );
    // Shard loops waiting for room in the budget: what is open must go for it to come back.
    this.unsubscribe = options.memory?.onPressure(() => this.relieve()) ?? (() => undefined);
  }

  /** The open batch under `key`, opened with `create` when there is none. */
  batchFor(key: string, create: (openedAt: number) => B): B {
    let batch = this.open.get(key);
    if (!batch) {
      batch = create(this.now());
      this.open.set(key, batch);
      this.wakeAt(batch.openedAt + this.options.buffer.maxAgeMs);
    }
    return batch;
  }

  /**
   * Cuts the open batch under `key` if `events` more events of `bytes` would take it past
   * maxRecords / maxBytes: a chunk of many events starts the next batch rather than
   * overfilling this one (a chunk is never larger than a batch may be: PageChunker).
   */
  makeRoom(key: string, events: number, bytes: number): void {
    const batch = this.open.get(key);
    if (!batch || batch.size === 0) return;
    const { maxRecords, maxBytes } = this.options.buffer;
    if (batch.size + events > maxRecords || batch.bytes + bytes > maxBytes) this.cut(key, batch);
  }

  /** Call after adding an event to the batch under `key`; `held` is what `add` returned. */
  added(key: string, batch: B, held: number): void {
    this.gate.add(held);
    const { maxRecords, maxBytes } = this.options.buffer;
    if (batch.size >= maxRecords || batch.bytes >= maxBytes) this.cut(key, batch);
  }

  waitForCapacity(): Promise<void> | undefined {
    if (!this.gate.full) return undefined;
    // Over the bound: what is buffered must go out for the bound to come back down.
    this.relieve();
    return this.gate.waitForRoom();
  }

  /** Cuts every open batch for writing, without waiting for the writes. */
  cutOpen(): void {
    for (const [key, batch] of this.open) this.cut(key, batch);
  }

  async flush(): Promise<void> {
    this.cutOpen();
    // Every queued write belongs to a delivery; a lane's next batch joins the queue only
    // when the one before it is done, so wait on the deliveries, not the queue.
    while (this.deliveries.size > 0) await Promise.allSettled([...this.deliveries]);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribe();
    await this.flush();
  }

  /**
   * Arms the timer for `at` unless it fires by then already. A batch goes out when it is
   * maxAgeMs old, not at the next tick of a periodic check: a tick of a quarter of the
   * window (at least 50 ms) added up to 50 ms to put → webhook with a 50 ms window.
   */
  private wakeAt(at: number): void {
    if (this.closed || (this.timer && this.timerAt <= at)) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    // setTimeout fires at once for more than 2^31 - 1 ms; an early wake-up only re-arms.
    const delay = Math.min(MAX_TIMEOUT_MS, Math.max(0, at - this.now()));
    this.timer = setTimeout(() => this.onTimer(), delay);
    this.timer.unref();
  }

  /**
   * Cuts what is aged, then re-arms for the next open batch. An aged batch held open
   * because its lane is busy needs no timer: it goes when that lane's write ends (see
   * `cut`). Every other open batch gets one, even one already due: cutting can take time
   * (a Parquet body is encoded synchronously when its write starts), so a batch that came
   * of age while `cutAged` ran was neither cut nor, when only younger ones were re-armed
   * for, ever woken again (found by the Athena kill -9 test: 20 events stuck in an open
   * batch at the end of the stream).
   */
  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.cutAged();
    const now = this.now();
    let next = Infinity;
    for (const [key, batch] of this.open) {
      const due = batch.openedAt + this.options.buffer.maxAgeMs;
      if (due <= now && this.busy(key)) continue;
      if (due < next) next = due;
    }
    if (next !== Infinity) this.wakeAt(next);
  }

  private cutAged(): void {
    const oldest = this.now() - this.options.buffer.maxAgeMs;
    for (const [key, batch] of this.open) {
      if (batch.openedAt <= oldest && !this.busy(key)) this.cut(key, batch);
    }
  }

  /** Whether a batch cut under `key` now would only wait (see `growWhileBusy`). */
  private busy(key: string): boolean {
    if (!this.options.growWhileBusy) return false;
    if (this.options.orderedKeys && this.lanes.has(key)) return true;
    return this.queue.pending + this.queue.size >= this.options.concurrency;
  }

  /**
   * Room is wanted (this sink's bound or the budget is spent): the open batches are cut,
   * unless cut ones are already waiting for a write lane. Then cutting more frees nothing
   * sooner (bytes leave when a write ends) and only makes objects smaller: at full speed,
   * with the budget spent, every page cut every open batch (S3 objects of ~400 events at
   * 64 shards, too small ever to start compressing as they grow: docs/performance.md).
   * A write that ends while room is still wanted cuts them (see `cut`). Lanes by key
   * (`orderedKeys`) keep cutting at once: their batches wait behind their own lane.
   */
  private relieve(): void {
    if (this.options.orderedKeys || this.queue.size === 0) this.cutOpen();
  }

  private cut(key: string, batch: B): void {
    this.open.delete(key);
    const before = this.options.orderedKeys ? this.lanes.get(key) : undefined;
    const delivery = this.enqueue(batch, before);
    this.deliveries.add(delivery);
    if (this.options.orderedKeys) this.lanes.set(key, delivery);
    void delivery.finally(() => {
      this.deliveries.delete(delivery);
      if (this.lanes.get(key) === delivery) this.lanes.delete(key);
      // A batch held open while this write was in flight goes now, if it is aged.
      if (this.options.growWhileBusy) this.cutAged();
      // Still over the bound: the open batches go now that a lane is free (see relieve).
      if (this.gate.full) this.relieve();
    });
  }

  private async enqueue(batch: B, after: Promise<void> | undefined): Promise<void> {
    try {
      // `deliver` settles every event itself; if it throws anyway (a bug), its own
      // promise's rejection goes unhandled and ends the process, as before lanes. The
      // lane does not wait on it twice.
      if (after) await after.catch(() => undefined);
      await queueWrite(this.queue, batch, (cut) => this.deliver(cut));
    } finally {
      this.gate.remove(batch.held);
    }
  }
}
