import type { _Record } from '@aws-sdk/client-kinesis';
import aggregation from 'aws-kinesis-agg';
import type { UserRecord } from '../core/record.js';

/** The KPL aggregated-record format starts with these four bytes. */
const KPL_MAGIC = [0xf3, 0x89, 0x9a, 0xc2] as const;

export function isKplAggregate(data: Uint8Array): boolean {
  return data.length > 20 && KPL_MAGIC.every((byte, index) => data[index] === byte);
}

interface AggUserRecord {
  partitionKey: string;
  explicitPartitionKey?: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  data: string;
}

/**
 * Splits one Kinesis record into its user records. Plain records pass through without a
 * copy; KPL aggregates go through aws-kinesis-agg (checksum verified). As the KCL does, an
 * aggregate whose checksum or protobuf does not verify is delivered as one plain record.
 */
export function deaggregate(record: _Record, streamName: string, shardId: string): UserRecord[] {
  const data = record.Data ?? new Uint8Array();
  const base = {
    streamName,
    shardId,
    sequenceNumber: record.SequenceNumber ?? '0',
    approximateArrivalTimestamp: record.ApproximateArrivalTimestamp ?? new Date(0),
  };
  const plain: UserRecord = {
    ...base,
    partitionKey: record.PartitionKey ?? '',
    subSequenceNumber: 0,
    aggregated: false,
    data,
  };
  if (!isKplAggregate(data)) return [plain];

  let userRecords: AggUserRecord[] | undefined;
  let failed = false;
  aggregation.deaggregateSync(
    {
      partitionKey: plain.partitionKey,
      sequenceNumber: base.sequenceNumber,
      data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
      approximateArrivalTimestamp: base.approximateArrivalTimestamp.getTime() / 1000,
      kinesisSchemaVersion: '1.0',
    },
    true,
    (error: Error | null, records?: AggUserRecord[]) => {
      failed = Boolean(error);
      userRecords = records;
    },
  );
  if (failed || !userRecords) return [plain];
  return userRecords.map((user) => ({
    ...base,
    partitionKey: user.partitionKey,
    explicitHashKey: user.explicitPartitionKey,
    subSequenceNumber: user.subSequenceNumber,
    aggregated: true,
    data: Buffer.from(user.data, 'base64'),
  }));
}
