import type { TimedPut } from './rate-producer.js';

/** A delivered record, as the chaos scenarios see it in a sink. */
export interface Delivered {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly n: number;
}

export interface Tally {
  readonly put: number;
  /** Distinct put records delivered at least once. */
  readonly delivered: number;
  /** Deliveries beyond the first, over all records. */
  readonly duplicates: number;
  readonly lost: number;
  /** The numbers of the first few lost records, for the failure message. */
  readonly lostSample: number[];
  readonly duplicatesPerShard: ReadonlyMap<string, number>;
}

const keyOf = (shardId: string, sequenceNumber: string) => `${shardId}/${sequenceNumber}`;

/** Compares what was put with what arrived, by Kinesis position. */
export function tally(put: readonly TimedPut[], delivered: readonly Delivered[]): Tally {
  const counts = new Map<string, number>();
  for (const record of delivered) {
    const key = keyOf(record.shardId, record.sequenceNumber);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let reached = 0;
  let duplicates = 0;
  const lostSample: number[] = [];
  const duplicatesPerShard = new Map<string, number>();
  for (const record of put) {
    const count = counts.get(keyOf(record.shardId, record.sequenceNumber)) ?? 0;
    if (count > 0) reached += 1;
    else if (lostSample.length < 10) lostSample.push(record.n);
    if (count > 1) {
      duplicates += count - 1;
      duplicatesPerShard.set(
        record.shardId,
        (duplicatesPerShard.get(record.shardId) ?? 0) + count - 1,
      );
    }
  }
  return {
    put: put.length,
    delivered: reached,
    duplicates,
    lost: put.length - reached,
    lostSample,
    duplicatesPerShard,
  };
}

/**
 * Per shard, the most records put to it within any window of `windowMs`: "one checkpoint
 * interval's worth" of that shard, the bound on duplicates.
 */
export function busiestWindowPerShard(
  put: readonly TimedPut[],
  windowMs: number,
): Map<string, number> {
  const times = new Map<string, number[]>();
  for (const record of put) {
    const list = times.get(record.shardId) ?? [];
    list.push(record.at);
    times.set(record.shardId, list);
  }
  const busiest = new Map<string, number>();
  for (const [shardId, list] of times) {
    list.sort((a, b) => a - b);
    let best = 0;
    let from = 0;
    for (let to = 0; to < list.length; to += 1) {
      while ((list[to] ?? 0) - (list[from] ?? 0) >= windowMs) from += 1;
      best = Math.max(best, to - from + 1);
    }
    busiest.set(shardId, best);
  }
  return busiest;
}

/** Shards whose duplicates exceed their bound, with both numbers. */
export function shardsOverBound(
  duplicatesPerShard: ReadonlyMap<string, number>,
  bound: ReadonlyMap<string, number>,
): string[] {
  return [...duplicatesPerShard]
    .filter(([shardId, count]) => count > (bound.get(shardId) ?? 0))
    .map(([shardId, count]) => `${shardId}: ${count} > ${bound.get(shardId) ?? 0}`);
}
