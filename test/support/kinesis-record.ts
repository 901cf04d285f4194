import type { _Record } from '@aws-sdk/client-kinesis';

/** The shard the shard-loop unit tests read. */
export const TEST_SHARD = 'shardId-000000000001';

/** The n-th record's sequence number (increasing with n, as Kinesis's do). */
export const testSequence = (n: number): string => String(49_000_000_000n + BigInt(n));

/** A GetRecords record carrying `{"n": n}`, as the SDK hands it over. */
export function kinesisRecord(n: number): _Record {
  return {
    SequenceNumber: testSequence(n),
    PartitionKey: 'pk',
    Data: new TextEncoder().encode(`{"n":${n}}`),
    ApproximateArrivalTimestamp: new Date(),
  };
}

/**
 * A GetRecords response body as Kinesis writes it: arrival times in epoch seconds, data in
 * base64; `extra` members (ChildShards, say) are added as they are.
 */
export function getRecordsBody(
  records: readonly _Record[],
  page: { next?: string; behind?: number; extra?: Record<string, unknown> } = {},
): Buffer {
  return Buffer.from(
    JSON.stringify({
      Records: records.map((record) => ({
        SequenceNumber: record.SequenceNumber,
        ApproximateArrivalTimestamp: (record.ApproximateArrivalTimestamp?.getTime() ?? 0) / 1000,
        Data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
        PartitionKey: record.PartitionKey,
      })),
      NextShardIterator: page.next ?? 'next-iterator',
      MillisBehindLatest: page.behind ?? 0,
      ...page.extra,
    }),
  );
}
