import type { RelayMetrics } from '../observability/metrics.js';

/**
 * Counts a sink's in-flight bytes against its bound and lets writers wait for room:
 * the backpressure that pauses the shard loops feeding a slow sink.
 */
export class CapacityGate {
  private bytes = 0;
  private waiters: Array<() => void> = [];

  constructor(
    private readonly maxBytes: number,
    private readonly report: (bytes: number) => void = () => undefined,
  ) {}

  /** A sink's gate, reporting to kinesis_relay_sink_inflight_bytes{sink}. */
  static forSink(sink: string, maxBytes: number, metrics: RelayMetrics): CapacityGate {
    // The gauge child is looked up once: the gate reports on every event written.
    const inflight = metrics.sinkInflightBytes.labels({ sink });
    return new CapacityGate(maxBytes, (bytes) => inflight.set(bytes));
  }

  get inFlight(): number {
    return this.bytes;
  }

  get full(): boolean {
    return this.bytes >= this.maxBytes;
  }

  add(bytes: number): void {
    this.bytes += bytes;
    this.report(this.bytes);
  }

  remove(bytes: number): void {
    this.bytes = Math.max(0, this.bytes - bytes);
    this.report(this.bytes);
    if (!this.full && this.waiters.length > 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  waitForRoom(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
