import type { CsvShape } from '../../core/csv-shape.js';
import { PendingBatch } from '../pending-batch.js';
import type { OutputKind } from './key-layout.js';
import { DEFAULT_GZIP_LEVEL } from './deterministic-gzip.js';
import { DEFLATE_STATE_BYTES, StreamingGzip } from './streaming-gzip.js';

/** A text line (CSV, JSON Lines) or the cells of a Parquet row. */
export type ObjectItem = string | readonly string[];

/** The events bound for one S3 object (one encoded item each), until it is cut and written. */
export class ObjectBatch extends PendingBatch<ObjectItem> {
  /** Set once the batch's lines are gzipped as they arrive (see `keep`). */
  private gzip: StreamingGzip | null = null;

  constructor(
    readonly directory: string,
    readonly kind: OutputKind,
    readonly shape: CsvShape | null,
    readonly firstArrival: Date,
    openedAt: number,
    /**
     * Gzip the lines as they arrive, after this header (the CSV header line, or '' for
     * JSON Lines): a gzip text object of the batching S3 sink; null: keep them. A batch
     * cut for an upload waits for a lane, often behind others: what waits is then its
     * compressed bytes, not one string per event (docs/performance.md). The exactly-once
     * sink builds its bodies at the end (their bytes must not depend on anything but the
     * events).
     */
    private readonly gzipHeader: string | null = null,
    /** The sink's `gzipLevel`, for the lines gzipped as they arrive. */
    private readonly gzipLevel: number = DEFAULT_GZIP_LEVEL,
  ) {
    super(openedAt);
  }

  /**
   * A line joins the gzip stream once the batch's lines outweigh a deflate stream's state
   * (DEFLATE_STATE_BYTES); below that (small or quiet batches, many of them open) lines
   * stay strings until the body is built. The budget still counts each line's bytes, so a
   * compressed batch is counted at more than it holds, never less.
   */
  protected override keep(item: ObjectItem, bytes: number): void {
    if (this.gzip) {
      if (typeof item !== 'string') throw new Error('unreachable: a Parquet row in a text object');
      this.gzip.write(item, bytes);
      return;
    }
    super.keep(item, bytes);
    if (
      this.gzipHeader !== null &&
      this.kind !== 'parquet' &&
      this.bytes + bytes >= DEFLATE_STATE_BYTES
    ) {
      this.startGzip();
    }
  }

  /** The gzip body of a batch compressed as it went; null when its lines were kept. */
  async streamedBody(): Promise<Buffer | null> {
    return this.gzip ? this.gzip.finish() : null;
  }

  private startGzip(): void {
    const gzip = new StreamingGzip(this.gzipLevel);
    const header = this.gzipHeader ?? '';
    gzip.write(header, Buffer.byteLength(header));
    for (const line of this.items) {
      if (typeof line !== 'string') throw new Error('unreachable: a Parquet row in a text object');
      gzip.write(line, Buffer.byteLength(line));
    }
    this.items.length = 0;
    this.gzip = gzip;
  }
}
