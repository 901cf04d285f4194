import PQueue from 'p-queue';
import type { BufferConfig } from '../config/schema.js';
import type { RelayMetrics } from '../observability/metrics.js';
import { CapacityGate } from './capacity-gate.js';
import type { PendingBatch } from './pending-batch.js';

export interface BatcherOptions {
  readonly sink: string;
  readonly buffer: BufferConfig;
  readonly maxInFlightBytes: number;
  /** Batches written at once. */
  readonly concurrency: number;
  readonly metrics: RelayMetrics;
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
  private readonly queue: PQueue;
  private readonly gate: CapacityGate;
  private readonly timer: NodeJS.Timeout;
  readonly now: () => number;

  constructor(
    private readonly options: BatcherOptions,
    private readonly deliver: (batch: B) => Promise<void>,
  ) {
    this.now = options.now ?? Date.now;
    this.queue = new PQueue({ concurrency: options.concurrency });
    // The gauge child is looked up once: the gate reports on every event written.
    const inflight = options.metrics.sinkInflightBytes.labels({ sink: options.sink });
    this.gate = new CapacityGate(options.maxInFlightBytes, (bytes) => inflight.set(bytes));
    const tick = Math.min(1000, Math.max(50, Math.floor(options.buffer.maxAgeMs / 4)));
    this.timer = setInterval(() => this.cutAged(), tick);
    this.timer.unref();
  }

  /** The open batch under `key`, opened with `create` when there is none. */
  batchFor(key: string, create: (openedAt: number) => B): B {
    let batch = this.open.get(key);
    if (!batch) {
      batch = create(this.now());
      this.open.set(key, batch);
    }
    return batch;
  }

  /** Call after adding an item of `bytes` to the batch under `key`. */
  added(key: string, batch: B, bytes: number): void {
    this.gate.add(bytes);
    const { maxRecords, maxBytes } = this.options.buffer;
    if (batch.size >= maxRecords || batch.bytes >= maxBytes) this.cut(key, batch);
  }

  waitForCapacity(): Promise<void> | undefined {
    if (!this.gate.full) return undefined;
    // Over the bound: everything buffered must go out for the bound to come back down.
    this.cutAll();
    return this.gate.waitForRoom();
  }

  async flush(): Promise<void> {
    this.cutAll();
    await this.queue.onIdle();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private cutAged(): void {
    const oldest = this.now() - this.options.buffer.maxAgeMs;
    for (const [key, batch] of this.open) if (batch.openedAt <= oldest) this.cut(key, batch);
  }

  private cutAll(): void {
    for (const [key, batch] of this.open) this.cut(key, batch);
  }

  private cut(key: string, batch: B): void {
    this.open.delete(key);
    void this.queue.add(async () => {
      try {
        await this.deliver(batch);
      } finally {
        this.gate.remove(batch.bytes);
      }
    });
  }
}
