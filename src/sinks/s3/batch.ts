import type { CsvShape } from '../../core/csv-shape.js';
import { PendingBatch } from '../pending-batch.js';
import type { OutputKind } from './key-layout.js';

/** The events bound for one S3 object (one encoded line each), until it is cut and written. */
export class ObjectBatch extends PendingBatch<string> {
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
