import { randomBytes } from 'node:crypto';
import type { RedshiftSinkConfig } from '../../config/schema.js';
import type { AckHandle } from '../../core/ack.js';
import { errorMessage } from '../../core/errors.js';
import type { RelayEvent } from '../../core/event.js';
import type { MemoryBudget } from '../../core/memory-budget.js';
import type { UserRecord } from '../../core/record.js';
import type { Logger } from '../../observability/logger.js';
import type { RelayMetrics } from '../../observability/metrics.js';
import { deliverBatch, type BatchDeliveryContext } from '../batch-delivery.js';
import { SingleBatchSink } from '../batching-sink.js';
import type { PendingBatch } from '../pending-batch.js';
import { deadLetterEntry } from '../dead-letter-entry.js';
import { timeParts } from '../s3/key-layout.js';
import type { DeadLetterSink } from '../sink.js';
import { checkedCsvRow, csvRow, type Column, type ColumnKind, type TooLong } from './columns.js';
import { asRelayError, RowLoadError } from './sql-session.js';
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
  /** The process's memory budget, which this sink's in-flight bytes draw from. */
  readonly memory?: MemoryBudget;
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
      memory: deps.memory,
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
    const error = `column ${tooLong.column} is ${tooLong.bytes} bytes, over its VARCHAR(${tooLong.limit}); not truncated`;
    this.deps.log.error(
      {
        sink: this.name,
        shardId: event.record.shardId,
        sequenceNumber: event.record.sequenceNumber,
        eventId: event.id.slice(0, 128),
        err: error,
      },
      'event does not fit its table; dead-lettering it',
    );
    this.rejectRecords([event.record], [ack], error);
  }

  /** Events no load can take: to the dead-letter writer, which acknowledges once stored. */
  private rejectRecords(
    records: readonly UserRecord[],
    acks: readonly AckHandle[],
    error: string,
  ): void {
    const { metrics, rejects } = this.deps;
    // The relay always wires the writer; only a test could leave it out.
    if (!rejects) throw new Error(`${this.name}: ${error}, and no dead-letter writer`);
    metrics.sinkRecords.inc({ sink: this.name, outcome: 'dead_lettered' }, records.length);
    records.forEach((record, index) => {
      const ack = acks[index];
      if (ack) rejects.write(deadLetterEntry(record, 'sink_rejected', error, this.name), ack);
    });
  }

  protected async deliver(batch: PendingBatch<Buffer>): Promise<void> {
    const stopTimer = this.deps.metrics.sinkBatchDuration.startTimer({ sink: this.name });
    await this.load(batch, { failedLoads: 0, maxFailedLoads: isolationBudget(batch.size) });
    stopTimer();
  }

  /**
   * Loads a batch (or a part of one), retried per the policy. A load that fails because
   * of a row is not retried as it is: the row PostgreSQL names is loaded on its own and
   * the rows around it apart; Redshift names none (its XX000 points at STL_LOAD_ERRORS),
   * so the batch is halved until the row is alone. A row that fails alone is dead-lettered
   * (`sink_rejected`); every other row is delivered. `budget` caps the failed loads one
   * batch may spend on this: past it, a failing part is dead-lettered whole, so a table
   * that refuses every row costs a bounded number of loads, not one per row.
   */
  private async load(part: PendingBatch<Buffer>, budget: IsolationBudget): Promise<void> {
    const { log, loader } = this.deps;
    const t = timeParts(new Date());
    const batchId = `${t.yyyy}/${t.mm}/${t.dd}/${t.HH}${t.MM}${t.SS}-${randomBytes(6).toString('hex')}`;
    const rows = Buffer.concat(part.items);
    // Set inside the write callback: the row error, when the load failed because of a row.
    const caught: { rowError?: RowLoadError } = {};
    const result = await deliverBatch(this.delivery, part, { batchId }, async () => {
      try {
        return await loader.load(batchId, rows);
      } catch (error) {
        const relayError = asRelayError(error);
        if (!(relayError instanceof RowLoadError)) throw relayError;
        caught.rowError = relayError;
        return 'split';
      }
    });
    // Staged objects are only a means to the load: a failed cleanup costs storage, not data.
    await loader.cleanup(batchId).catch((error: unknown) => {
      log.warn({ sink: this.name, batchId, err: errorMessage(error) }, 'staging cleanup failed');
    });
    const failed = caught.rowError;
    if (result !== 'split' || !failed) return;
    budget.failedLoads += 1;
    if (part.size === 1 || budget.failedLoads > budget.maxFailedLoads) {
      log.error(
        { sink: this.name, batchId, records: part.size, err: failed.message },
        part.size === 1
          ? 'a row the table cannot take; dead-lettering it'
          : 'rows the table cannot take, too many to isolate; dead-lettering them',
      );
      this.rejectRecords(part.records, part.acks, failed.message);
      return;
    }
    const ranges = isolationRanges(part.size, failed.line);
    log.warn(
      { sink: this.name, batchId, records: part.size, line: failed.line, err: failed.message },
      'a row failed the load; loading the batch in parts to isolate it',
    );
    for (const [start, end] of ranges) await this.load(part.slice(start, end), budget);
  }

  protected release(): Promise<void> {
    return this.deps.end();
  }
}

interface IsolationBudget {
  failedLoads: number;
  readonly maxFailedLoads: number;
}

/** Failed loads one batch may spend isolating bad rows: a few rows' worth of halvings. */
export function isolationBudget(size: number): number {
  return 4 * Math.ceil(Math.log2(size + 1)) + 4;
}

/**
 * The parts to load after a part of `size` rows failed: around and apart from the 1-based
 * `line` the database named (only a hint: the row is still loaded on its own), else halves.
 */
export function isolationRanges(size: number, line: number | undefined): Array<[number, number]> {
  if (line !== undefined && Number.isInteger(line) && line >= 1 && line <= size) {
    const ranges: Array<[number, number]> = [
      [0, line - 1],
      [line - 1, line],
      [line, size],
    ];
    return ranges.filter(([start, end]) => end > start);
  }
  const half = Math.ceil(size / 2);
  return [
    [0, half],
    [half, size],
  ];
}
