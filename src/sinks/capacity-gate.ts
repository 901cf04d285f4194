import type { MemoryBudget } from '../core/memory-budget.js';
import type { RelayMetrics, SinkProgress } from '../observability/metrics.js';

/**
 * Counts a sink's in-flight bytes against its bound and lets writers wait for room:
 * the backpressure that pauses the shard loops feeding a slow sink.
 *
 * It also knows whether the sink is getting anywhere: bytes leave only when a batch is
 * acknowledged or dead-lettered, so a gate that holds bytes and has released none for a
 * long time belongs to a stuck sink (/readyz, kinesis_relay_sink_progress_age_seconds).
 *
 * With the process's memory budget the gate's bytes count there too, and the gate is
 * full while either its own bound or the budget is spent.
 */
export class CapacityGate implements SinkProgress {
  private bytes = 0;
  private waiters: Array<() => void> = [];
  private progressAt = Date.now();

  constructor(
    private readonly maxBytes: number,
    private readonly memory?: MemoryBudget,
  ) {}

  /** A sink's gate, reporting to kinesis_relay_sink_inflight_bytes{sink}. */
  static forSink(
    sink: string,
    maxBytes: number,
    metrics: RelayMetrics,
    memory?: MemoryBudget,
  ): CapacityGate {
    // kinesis_relay_sink_inflight_bytes{sink} reads the gate's inFlight when scraped.
    const gate = new CapacityGate(maxBytes, memory);
    metrics.sinkProgress.set(sink, gate);
    return gate;
  }

  get inFlight(): number {
    return this.bytes;
  }

  get full(): boolean {
    return this.bytes >= this.maxBytes || (this.memory?.full ?? false);
  }

  get holding(): boolean {
    return this.bytes > 0;
  }

  /** When a batch last left, or the gate last went from empty to holding (ms since epoch). */
  get lastProgressAt(): number {
    return this.progressAt;
  }

  add(bytes: number): void {
    // Time without progress counts from when there was something to make progress on.
    if (this.bytes === 0 && bytes > 0) this.progressAt = Date.now();
    this.bytes += bytes;
    this.memory?.add(bytes);
  }

  remove(bytes: number): void {
    this.progressAt = Date.now();
    const removed = Math.min(bytes, this.bytes);
    this.bytes -= removed;
    this.memory?.remove(removed);
    if (this.bytes < this.maxBytes && this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  async waitForRoom(): Promise<void> {
    while (this.full) {
      if (this.bytes >= this.maxBytes) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      } else {
        // Room in the budget comes back when any gate releases bytes, not only this one.
        await this.memory?.waitForRoom();
      }
    }
  }
}
