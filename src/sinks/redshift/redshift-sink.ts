import { randomBytes } from 'node:crypto';
import type { RedshiftSinkConfig } from '../../config/schema.js';
import type { AckHandle } from '../../core/ack.js';
import { errorMessage } from '../../core/errors.js';
import type { RelayEvent } from '../../core/event.js';
import type { Logger } from '../../observability/logger.js';
import type { RelayMetrics } from '../../observability/metrics.js';
import { deliverBatch, type BatchDeliveryContext } from '../batch-delivery.js';
import { SingleBatchSink } from '../batching-sink.js';
import type { PendingBatch } from '../pending-batch.js';
import { deadLetterEntry } from '../dead-letter-entry.js';
import { timeParts } from '../s3/key-layout.js';
import type { DeadLetterSink } from '../sink.js';
import { checkedCsvRow, csvRow, type Column, type ColumnKind, type TooLong } from './columns.js';
import type { TableLoader } from './table-loader.js';

export interface RedshiftSinkDeps {
  readonly columns: readonly Column[];
  /** Widest value per column kind, in UTF-8 bytes (the dialect's column types). */
  readonly limits: Readonly<Partial<Record<ColumnKind, number>>>;
  readonly loader: TableLoader;
  /** Closes the database connections. */
  readonly end: () => Promise<void>;
  readonly deadLetter: DeadLetterSink | null;
  /**
   * Where an event that can never be stored whole (a value wider than its column) goes:
   * the dead-letter writer, even when no destination is configured for give-ups.
   */
  readonly rejects: DeadLetterSink | null;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
}

/**
 * Buffers events as CSV rows (key columns first, then the mapped fields) and loads each
 * batch with a staged COPY and a merge keyed by record position and event id, so a batch
 * replayed after a crash inserts no row twice. Batches load one at a time.
 */
export class RedshiftSink extends SingleBatchSink {
  private readonly delivery: BatchDeliveryContext;
  /** The row `write` checked, handed to `encode` so it is built once. */
  private checkedRow: Buffer | null = null;

  constructor(
    config: RedshiftSinkConfig,
    private readonly deps: RedshiftSinkDeps,
  ) {
    super(config.name, {
      buffer: config.buffer,
      maxInFlightBytes: config.maxInFlightBytes,
      concurrency: 1,
      metrics: deps.metrics,
    });
    this.delivery = { sink: config.name, retry: config.retry, ...deps };
  }

  /**
   * An event with a value wider than its column is dead-lettered at once (reason
   * `sink_rejected`, naming the column) instead of joining a batch: stored cut short it
   * would be a different key or a broken JSON document, and no retry can make it fit.
   */
  override write(event: RelayEvent, ack: AckHandle): void {
    const row = checkedCsvRow(this.deps.columns, event, this.deps.limits);
    if (!row.ok) {
      this.reject(event, ack, row);
      return;
    }
    this.checkedRow = row.row;
    try {
      super.write(event, ack);
    } finally {
      this.checkedRow = null;
    }
  }

  protected encode(event: RelayEvent): Buffer {
    return this.checkedRow ?? csvRow(this.deps.columns, event);
  }

  private reject(event: RelayEvent, ack: AckHandle, tooLong: TooLong): void {
    const { metrics, log, rejects } = this.deps;
    const error = `column ${tooLong.column} is ${tooLong.bytes} bytes, over its VARCHAR(${tooLong.limit}); not truncated`;
    log.error(
      {
        sink: this.name,
        shardId: event.record.shardId,
        sequenceNumber: event.record.sequenceNumber,
        eventId: event.id.slice(0, 128),
        err: error,
      },
      'event does not fit its table; dead-lettering it',
    );
    // The relay always wires the writer; only a test could leave it out.
    if (!rejects) throw new Error(`${this.name}: ${error}, and no dead-letter writer`);
    metrics.sinkRecords.inc({ sink: this.name, outcome: 'dead_lettered' });
    rejects.write(deadLetterEntry(event.record, 'sink_rejected', error, this.name), ack);
  }

  protected async deliver(batch: PendingBatch<Buffer>): Promise<void> {
    const { metrics, log, loader } = this.deps;
    const stopTimer = metrics.sinkBatchDuration.startTimer({ sink: this.name });
    const t = timeParts(new Date());
    const batchId = `${t.yyyy}/${t.mm}/${t.dd}/${t.HH}${t.MM}${t.SS}-${randomBytes(6).toString('hex')}`;
    const rows = Buffer.concat(batch.items);
    await deliverBatch(this.delivery, batch, { batchId }, () => loader.load(batchId, rows));
    stopTimer();
    // Staged objects are only a means to the load: a failed cleanup costs storage, not data.
    await loader.cleanup(batchId).catch((error: unknown) => {
      log.warn({ sink: this.name, batchId, err: errorMessage(error) }, 'staging cleanup failed');
    });
  }

  protected release(): Promise<void> {
    return this.deps.end();
  }
}
