import type { UserRecord } from '../core/record.js';

/**
 * The id of an event whose source has none: its position in the stream, which is stable
 * across re-reads (a replay after a lost checkpoint yields the same ids, so downstream
 * de-duplication works). `index` tells apart the events of one batch record.
 */
export function positionId(record: UserRecord, index?: number): string {
  const base = `${record.shardId}:${record.sequenceNumber}:${record.subSequenceNumber}`;
  return index === undefined ? base : `${base}:${index}`;
}
