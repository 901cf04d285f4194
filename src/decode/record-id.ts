import type { UserRecord } from '../core/record.js';

/** Makes the id of an event whose source has none, from its record's position. */
export type PositionIds = (record: UserRecord, index?: number) => string;

/**
 * The id of an event whose source has none: its position in the stream, which is stable
 * across re-reads (a replay after a lost checkpoint yields the same ids, so downstream
 * de-duplication works). `index` tells apart the events of one batch record. The form
 * `shardId:sequenceNumber:subSequenceNumber[:index]` is a contract: changing it would give
 * events already delivered new ids.
 */
export function positionId(record: UserRecord, index?: number): string {
  const base = `${record.shardId}:${record.sequenceNumber}:${record.subSequenceNumber}`;
  return index === undefined ? base : `${base}:${index}`;
}

/**
 * The position id with more than one stream (`streams:`): the stream as configured (a name or
 * an ARN), a slash, then the one-stream form. Shard ids and sequence numbers are only
 * unique within a stream (two streams both have shardId-000000000000, and may number
 * their records alike), so without the stream two records got one id and receivers that
 * de-duplicate by id dropped one. A stream name cannot contain `/` and a one-stream id
 * never does, so the two forms cannot be mistaken for each other, and the position is
 * whatever follows the last `/`.
 */
export function streamPositionId(record: UserRecord, index?: number): string {
  return `${record.streamName}/${positionId(record, index)}`;
}

/** The position ids of a relay that reads more than one stream, or one. */
export function positionIds(streamInIds: boolean): PositionIds {
  return streamInIds ? streamPositionId : positionId;
}
