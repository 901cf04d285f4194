import type { AckHandle } from '../core/ack.js';
import type { RelayEvent } from '../core/event.js';
import type { UserRecord } from '../core/record.js';
import { Batcher, type BatcherOptions } from './batcher.js';
import { PendingBatch } from './pending-batch.js';
import type { Sink } from './sink.js';

/**
 * A sink whose events share one open batch (Redshift, webhook), or one per lane
 * (`laneOf`, with `orderedKeys`): each event is encoded to bytes on `write`, the Batcher
 * cuts and bounds, `deliver` writes a batch.
 */
export abstract class SingleBatchSink implements Sink {
  private readonly batcher: Batcher<PendingBatch<Buffer>>;

  constructor(
    readonly name: string,
    options: Omit<BatcherOptions, 'sink'>,
  ) {
    this.batcher = new Batcher({ sink: name, ...options }, (batch) => this.deliver(batch));
  }

  write(event: RelayEvent, ack: AckHandle): void {
    this.add(this.encode(event), event.record, ack);
  }

  /** An encoded item into its lane's batch (`write`, or a sink taking pre-encoded events). */
  protected add(item: Buffer, record: UserRecord, ack: AckHandle): void {
    const lane = this.laneOf(record);
    const batch = this.batcher.batchFor(lane, (openedAt) => new PendingBatch<Buffer>(openedAt));
    const held = batch.add(item, item.byteLength, record, ack, this.keepsRecordData());
    this.batcher.added(lane, batch, held);
  }

  /** Whether a batch may still need its records' bytes (for a dead-letter entry). */
  protected keepsRecordData(): boolean {
    return true;
  }

  /** The batch an event of this record joins: one for all unless a sink keeps lanes. */
  protected laneOf(_record: UserRecord): string {
    return '';
  }

  waitForCapacity(): Promise<void> | undefined {
    return this.batcher.waitForCapacity();
  }

  flush(): Promise<void> {
    return this.batcher.flush();
  }

  cutOpenBatches(): void {
    this.batcher.cutOpen();
  }

  async close(): Promise<void> {
    await this.batcher.close();
    await this.release();
  }

  protected abstract encode(event: RelayEvent): Buffer;
  /** Must acknowledge or dead-letter every event of the batch before resolving. */
  protected abstract deliver(batch: PendingBatch<Buffer>): Promise<void>;
  /** Closes connections, after the last batch is delivered. */
  protected abstract release(): Promise<void>;
}
