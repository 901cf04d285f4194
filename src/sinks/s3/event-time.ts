import type { RelayEvent } from '../../core/event.js';

/** Zone-less ISO times are UTC (RTDS writes them so); Date.parse would read local time. */
const HAS_ZONE = /(?:Z|[+-]\d\d:?\d\d)$/i;
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;

/** Milliseconds since the epoch of an ISO-8601 time, or null for empty or unreadable text. */
export function timestampMillis(text: string): number | null {
  if (text === '') return null;
  const iso = DATE_TIME.test(text) && !HAS_ZONE.test(text) ? `${text}Z` : text;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * The time an event is partitioned by with `partitionBy: event`: when it happened, as its
 * decoder read it (`occurred`). Events that do not say (raw bytes, a source without a time)
 * fall back to their record's arrival time. A function of the record alone, so
 * exactly-once replays put every event in the same directory again.
 */
export function eventTimeOrArrival(event: RelayEvent): Date {
  const ms = event.occurred === null ? null : timestampMillis(event.occurred);
  return ms === null ? event.record.approximateArrivalTimestamp : new Date(ms);
}
