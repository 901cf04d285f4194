import { z } from 'zod';
import type { UserRecord } from '../core/record.js';
import type { DeadLetterEntry } from '../sinks/sink.js';

/** A dead-letter line as written by DeadLetterWriter; checked, since files can be edited. */
const entrySchema = z.object({
  stream: z.string(),
  shardId: z.string().min(1),
  sequenceNumber: z.string().regex(/^\d+$/),
  subSequenceNumber: z.number().int().nonnegative(),
  partitionKey: z.string(),
  arrivalTime: z.iso.datetime({ offset: true }),
  reason: z.enum(['decode_failed', 'sink_gave_up', 'sink_rejected']),
  error: z.string(),
  sink: z.string().nullable(),
  data: z.base64(),
});

export type ParsedLine =
  | { readonly ok: true; readonly entry: DeadLetterEntry }
  | { readonly ok: false; readonly error: string };

export function parseDeadLetterLine(line: string): ParsedLine {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    return { ok: false, error: `not JSON: ${(error as Error).message}` };
  }
  const result = entrySchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    return {
      ok: false,
      error: `${issue?.path.join('.') || 'entry'}: ${issue?.message ?? 'invalid'}`,
    };
  }
  return { ok: true, entry: result.data };
}

/** The record as the shard loop first saw it, rebuilt from its dead-letter entry. */
export function recordFromEntry(entry: DeadLetterEntry): UserRecord {
  return {
    streamName: entry.stream,
    shardId: entry.shardId,
    sequenceNumber: entry.sequenceNumber,
    subSequenceNumber: entry.subSequenceNumber,
    partitionKey: entry.partitionKey,
    aggregated: entry.subSequenceNumber > 0,
    approximateArrivalTimestamp: new Date(entry.arrivalTime),
    data: Buffer.from(entry.data, 'base64'),
  };
}

/** Which entries a replay takes: all by default, or those matching every given filter. */
export interface ReplayFilter {
  readonly reasons?: readonly DeadLetterEntry['reason'][];
  readonly shardIds?: readonly string[];
  /** Record arrival time window (ApproximateArrivalTimestamp), inclusive. */
  readonly since?: Date;
  readonly until?: Date;
}

export function entryMatches(entry: DeadLetterEntry, filter: ReplayFilter): boolean {
  if (filter.reasons?.length && !filter.reasons.includes(entry.reason)) return false;
  if (filter.shardIds?.length && !filter.shardIds.includes(entry.shardId)) return false;
  const arrival = Date.parse(entry.arrivalTime);
  if (filter.since && arrival < filter.since.getTime()) return false;
  if (filter.until && arrival > filter.until.getTime()) return false;
  return true;
}
