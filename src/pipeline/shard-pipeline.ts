import type { RecordProcessor } from '../core/processor.js';
import type { RecordPosition, UserRecord } from '../core/record.js';
import type { Decoder } from '../decode/decoder.js';
import { deadLetterEntry } from '../sinks/dead-letter-entry.js';
import type { DeadLetterSink, Sink } from '../sinks/sink.js';
import type { Router } from './router.js';
import { ShardProgress } from './shard-progress.js';

/**
 * One shard's path from records to sinks: decode, route, hand each event to its sinks
 * with an acknowledgement handle, and wait while any sink is over its in-flight bound.
 * A record that cannot be decoded goes to the dead-letter sink and the shard goes on.
 */
export class ShardPipeline implements RecordProcessor {
  private readonly progress = new ShardProgress();
  /** Learnt from the first record: one pipeline serves one shard. */
  private shardId: string | null = null;

  constructor(
    private readonly decoder: Decoder,
    private readonly router: Router,
    private readonly deadLetter: DeadLetterSink,
  ) {}

  async process(records: readonly UserRecord[]): Promise<void> {
    this.shardId ??= records[0]?.shardId ?? null;
    for (const record of records) {
      const pending = this.progress.begin(record);
      const result = this.decoder.decode(record);
      if (!result.ok) {
        this.deadLetter.write(
          deadLetterEntry(record, 'decode_failed', result.error),
          pending.expect(),
        );
      } else {
        for (const event of result.events) {
          this.router.route(event, (sink) => sink.write(event, pending.expect()));
        }
      }
      pending.settle();
    }
    await this.backpressure();
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

  drained(): Promise<void> {
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
