import type { RelayEvent } from './event.js';

/**
 * The CSV columns for one kind of event. Airship events have one header list per event
 * type (from the reference document); other formats share a documented flattened set.
 */
export interface CsvShape {
  /** Distinguishes shapes: events of different shapes never share a CSV file. */
  readonly id: string;
  readonly header: readonly string[];
  values(event: RelayEvent): readonly string[];
  /**
   * The event's CSV line, byte for byte `csvLine(values(event))`, written without the
   * array of values where a shape knows its columns (the per-event path of the S3 sink).
   */
  csvLine?(event: RelayEvent): string;
}

/** Returns the CSV shape for an event, or null when the event goes to JSON only. */
export type CsvShapeResolver = (event: RelayEvent) => CsvShape | null;
