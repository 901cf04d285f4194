import { kplAggregate, type OutgoingRecord, type PutResult } from '../../src/demo/producer.js';
import { comparePositions, type RecordPosition } from '../../src/core/record.js';

/** A numbered test record: its JSON body carries the number, for set comparisons. */
export interface NumberedBody {
  readonly n: number;
  readonly payload: string;
}

/** How many partition keys numbered records cycle through (key-0 ... key-1012). */
export const NUMBERED_PARTITION_KEYS = 1013;

export function numberedRecord(n: number): OutgoingRecord {
  const body: NumberedBody = { n, payload: `record ${n} ${'x'.repeat(n % 50)}` };
  return {
    partitionKey: `key-${n % NUMBERED_PARTITION_KEYS}`,
    data: Buffer.from(JSON.stringify(body)),
  };
}

export interface PlannedRecords {
  /** What to PutRecords. */
  readonly records: OutgoingRecord[];
  /** For each Kinesis record: how many user records it carries. */
  readonly userCounts: number[];
  readonly total: number;
}

/**
 * `count` numbered user records from `from`, where `aggregatedShare` of them travel in
 * KPL aggregates of `perAggregate` user records.
 */
export function plannedRecords(
  from: number,
  count: number,
  options: { aggregatedShare: number; perAggregate: number },
): PlannedRecords {
  const records: OutgoingRecord[] = [];
  const userCounts: number[] = [];
  const aggregatedUntil = from + Math.floor(count * options.aggregatedShare);
  for (let n = from; n < from + count;) {
    if (n < aggregatedUntil) {
      const size = Math.min(options.perAggregate, aggregatedUntil - n);
      records.push(kplAggregate(Array.from({ length: size }, (_, i) => numberedRecord(n + i))));
      userCounts.push(size);
      n += size;
    } else {
      records.push(numberedRecord(n));
      userCounts.push(1);
      n += 1;
    }
  }
  return { records, userCounts, total: count };
}

/** The position of the last user record per shard, from what PutRecords reported. */
export function lastPositionPerShard(
  results: readonly PutResult[],
  userCounts: readonly number[],
): Map<string, RecordPosition> {
  const last = new Map<string, RecordPosition>();
  results.forEach((result, index) => {
    const count = userCounts[index] ?? 1;
    const position = {
      sequenceNumber: result.sequenceNumber,
      // A lone user record is not aggregated (sub 0); an aggregate ends at count - 1.
      subSequenceNumber: count > 1 ? count - 1 : 0,
    };
    const current = last.get(result.shardId);
    if (!current || comparePositions(position, current) > 0) last.set(result.shardId, position);
  });
  return last;
}
