import { randomBytes } from 'node:crypto';
import type { RedshiftSinkConfig } from '../../config/schema.js';
import { errorMessage } from '../../core/errors.js';
import type { RelayEvent } from '../../core/event.js';
import type { Logger } from '../../observability/logger.js';
import type { RelayMetrics } from '../../observability/metrics.js';
import { deliverBatch, type BatchDeliveryContext } from '../batch-delivery.js';
import { SingleBatchSink } from '../batching-sink.js';
import type { PendingBatch } from '../pending-batch.js';
import { timeParts } from '../s3/key-layout.js';
import type { DeadLetterSink } from '../sink.js';
import { csvRow, type Column } from './columns.js';
import type { TableLoader } from './table-loader.js';

export interface RedshiftSinkDeps {
  readonly columns: readonly Column[];
  readonly loader: TableLoader;
  /** Closes the database connections. */
  readonly end: () => Promise<void>;
  readonly deadLetter: DeadLetterSink | null;
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

  protected encode(event: RelayEvent): Buffer {
    return csvRow(this.deps.columns, event);
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
