import type { RecordProcessor } from '../core/processor.js';
import type { RecordPosition, UserRecord } from '../core/record.js';
import type { Decoder } from '../decode/decoder.js';
import { deadLetterEntry } from '../sinks/dead-letter-entry.js';
import type { DeadLetterSink } from '../sinks/sink.js';
import type { Router } from './router.js';
import { ShardProgress } from './shard-progress.js';

/**
 * One shard's path from records to sinks: decode, route, hand each event to its sinks
 * with an acknowledgement handle, and wait while any sink is over its in-flight bound.
 * A record that cannot be decoded goes to the dead-letter sink and the shard goes on.
 */
export class ShardPipeline implements RecordProcessor {
  private readonly progress = new ShardProgress();

  constructor(
    private readonly decoder: Decoder,
    private readonly router: Router,
    private readonly deadLetter: DeadLetterSink,
  ) {}

  async process(records: readonly UserRecord[]): Promise<void> {
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
    return this.progress.checkpointable();
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
