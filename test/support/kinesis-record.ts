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
