import type { AckHandle } from '../core/ack.js';
import type { RecordPosition } from '../core/record.js';

/**
 * One record in flight: how many deliveries it still waits for. It keeps the record's
 * position, not the record: an acknowledged record waits here behind any earlier one that
 * is not, and holding its bytes there too was most of the relay's memory under a slow sink.
 *
 * It is also the acknowledgement handle of its first delivery (a record usually has one:
 * one event, one sink); further deliveries get a `Delivery` each. A handle per delivery
 * built from closures (a context, an object and a function) was three allocations per
 * event, held in the sink's batch until the batch was written.
 */
class PendingRecord implements RecordPosition, AckHandle {
  pending = 1; // the dispatcher's own hold, released once every delivery is registered
  readonly sequenceNumber: string;
  readonly subSequenceNumber: number;
  /** Whether the first delivery's handle (this record itself) was handed out, and acknowledged. */
  private firstHandedOut = false;
  private firstAcked = false;

  constructor(
    position: RecordPosition,
    private readonly progress: ShardProgress,
  ) {
    this.sequenceNumber = position.sequenceNumber;
    this.subSequenceNumber = position.subSequenceNumber;
  }

  /** One more delivery (an event routed to a sink) that must be acknowledged. */
  expect(): AckHandle {
    this.pending += 1;
    if (this.firstHandedOut) return new Delivery(this);
    this.firstHandedOut = true;
    return this;
  }

  /** The first delivery's acknowledgement; a second call is ignored, as for any handle. */
  ack(): void {
    if (this.firstAcked) return;
    this.firstAcked = true;
    this.settle();
  }

  settle(): void {
    this.pending -= 1;
    if (this.pending === 0) this.progress.advance();
  }
}

/** The acknowledgement handle of a record's second and later deliveries. */
class Delivery implements AckHandle {
  private acked = false;

  constructor(private readonly record: PendingRecord) {}

  ack(): void {
    if (this.acked) return;
    this.acked = true;
    this.record.settle();
  }
}

/**
 * Per-shard, in-order acknowledgement tracking: the checkpointable position is the last
 * record such that it and every record before it are fully acknowledged, so an
 * acknowledgement that arrives out of order never moves the checkpoint past a gap.
 */
export class ShardProgress {
  /** Settled entries before `head` are cleared at once: they held their records' bytes. */
  private readonly queue: Array<PendingRecord | undefined> = [];
  private head = 0;
  private done: RecordPosition | null = null;
  private drainWaiters: Array<() => void> = [];

  /** Registers the next record of the shard; call `release` after routing it. */
  begin(position: RecordPosition): PendingRecord {
    const record = new PendingRecord(position, this);
    this.queue.push(record);
    return record;
  }

  get inFlight(): number {
    return this.queue.length - this.head;
  }

  checkpointable(): RecordPosition | null {
    return this.done;
  }

  drained(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** @internal called by a record whose last delivery was acknowledged. */
  advance(): void {
    let last: PendingRecord | undefined;
    for (let next = this.queue[this.head]; next?.pending === 0; next = this.queue[this.head]) {
      last = next;
      this.queue[this.head] = undefined;
      this.head += 1;
    }
    if (last) {
      const { sequenceNumber, subSequenceNumber } = last;
      this.done = { sequenceNumber, subSequenceNumber };
    }
    // Compact now and then so the array does not grow with the shard's history.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.inFlight === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }
}

export type { PendingRecord };
