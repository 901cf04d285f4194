import type { CsvShape } from '../../core/csv-shape.js';
import { PendingBatch } from '../pending-batch.js';
import type { OutputKind } from './key-layout.js';

/** A text line (CSV, JSON Lines) or the cells of a Parquet row. */
export type ObjectItem = string | readonly string[];

/** The events bound for one S3 object (one encoded item each), until it is cut and written. */
export class ObjectBatch extends PendingBatch<ObjectItem> {
  constructor(
    readonly directory: string,
    readonly kind: OutputKind,
    readonly shape: CsvShape | null,
    readonly firstArrival: Date,
    openedAt: number,
  ) {
    super(openedAt);
  }
}
