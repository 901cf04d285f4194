import type { AckHandle } from '../../core/ack.js';
import { releaseNow } from '../../core/release-now.js';
import type { CsvShape } from '../../core/csv-shape.js';
import type { LineChunk } from '../sink.js';
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
  /** Set once the batch holds chunks: the body's parts as stored (see `addStoredChunk`). */
  private parts: Uint8Array[] | null = null;

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

  /**
   * Adds a page's lines as stored (S3Sink.writeChunk): a gzip member, or UTF-8 bytes. The
   * first chunk is preceded by `header()` (the header line, stored the same way). An
   * object holds chunks only: where they come, every page comes as chunks (chunkerSpec).
   */
  addStoredChunk(chunk: LineChunk, ack: AckHandle, header: () => Uint8Array): number {
    if (this.gzip || this.items.length > 0) {
      throw new Error('unreachable: chunks and single lines in one object');
    }
    if (!this.parts) {
      const first = header();
      this.parts = first.byteLength > 0 ? [first] : [];
    }
    this.parts.push(chunk.body);
    return this.countChunk(
      chunk.bytes,
      chunk.body.byteLength,
      chunk.events,
      ack,
      chunk.oldestArrivalMs,
      chunk.records,
    );
  }

  /**
   * The body of a batch compressed as it went, or made of chunks; null when its lines were
   * kept (the writer builds the body then).
   */
  async streamedBody(): Promise<Buffer | null> {
    if (this.parts) return this.joinedParts(this.parts);
    return this.gzip ? this.gzip.finish() : null;
  }

  /**
   * The chunks as one buffer, which replaces them: held beside the body, the parts doubled
   * what an object in upload holds for the length of the upload and its retries, where
   * the budget counts its bytes once (behind a slow sink, most of what the budget holds is
   * in upload). A second call (a write tried again) gets the same buffer.
   */
  private joinedParts(parts: Uint8Array[]): Buffer {
    const [only] = parts;
    if (parts.length === 1 && Buffer.isBuffer(only)) return only;
    const joined = Buffer.concat(parts);
    for (const part of parts) releaseNow(part);
    this.parts = [joined];
    return joined;
  }

  /** After the object is stored: its chunks' bytes and records are freed now (see releaseNow). */
  releaseStoredBytes(): void {
    for (const part of this.parts ?? []) releaseNow(part);
    this.parts = null;
    for (const records of this.chunkRecords) releaseNow(records);
    this.chunkRecords.length = 0;
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
