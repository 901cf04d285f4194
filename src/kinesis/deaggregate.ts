import type { _Record } from '@aws-sdk/client-kinesis';
import aggregation from 'aws-kinesis-agg';
import type { UserRecord } from '../core/record.js';

/** The KPL aggregated-record format starts with the four bytes F3 89 9A C2. */
export function isKplAggregate(data: Uint8Array): boolean {
  // Spelled out: this runs for every record read, and a closure per record showed up.
  return (
    data.length > 20 && data[0] === 0xf3 && data[1] === 0x89 && data[2] === 0x9a && data[3] === 0xc2
  );
}

const NO_DATA = new Uint8Array();

interface AggUserRecord {
  partitionKey: string;
  explicitPartitionKey?: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  data: string;
}

/**
 * Splits one Kinesis record into its user records. KPL aggregates go through
 * aws-kinesis-agg (checksum verified). As the KCL does, an aggregate whose checksum or
 * protobuf does not verify is delivered as one plain record.
 *
 * A plain record's bytes are the view it was read as: of its page's buffer (our reader) or
 * of Node's shared 8 KB pool (the SDK's). A record held past routing would pin that whole
 * buffer (with a slow sink once 230 MB of pool slabs for 130k records in flight), so a
 * batch that keeps records (for a dead-letter entry, or always in the exactly-once and
 * Redshift sinks) copies their bytes into slabs of its own (PendingBatch.add),
 * and what remembers where a record was keeps its position only (positionOf). A KPL
 * sub-record gets a copy of its own here.
 */
export function deaggregate(record: _Record, streamName: string, shardId: string): UserRecord[] {
  const out: UserRecord[] = [];
  appendUserRecords(record, streamName, shardId, out);
  return out;
}

/** As deaggregate, appending to `out`: the shard loop's one array per page, not one per record. */
export function appendUserRecords(
  record: _Record,
  streamName: string,
  shardId: string,
  out: UserRecord[],
): void {
  const received = record.Data ?? NO_DATA;
  const aggregate = isKplAggregate(received);
  // One literal, not spreads of a shared base: this is the per-record path.
  const plain: UserRecord = {
    streamName,
    shardId,
    sequenceNumber: record.SequenceNumber ?? '0',
    approximateArrivalTimestamp: record.ApproximateArrivalTimestamp ?? new Date(0),
    partitionKey: record.PartitionKey ?? '',
    subSequenceNumber: 0,
    aggregated: false,
    // A view of its page's buffer (or of the SDK's pool): nothing is copied for a record
    // that is only routed; whatever keeps a record longer copies it (PendingBatch.add).
    data: received,
  };
  if (!aggregate) {
    out.push(plain);
    return;
  }
  const base = {
    streamName,
    shardId,
    sequenceNumber: plain.sequenceNumber,
    approximateArrivalTimestamp: plain.approximateArrivalTimestamp,
  };

  let userRecords: AggUserRecord[] | undefined;
  let failed = false;
  aggregation.deaggregateSync(
    {
      partitionKey: plain.partitionKey,
      sequenceNumber: base.sequenceNumber,
      data: Buffer.from(received.buffer, received.byteOffset, received.byteLength).toString(
        'base64',
      ),
      approximateArrivalTimestamp: base.approximateArrivalTimestamp.getTime() / 1000,
      kinesisSchemaVersion: '1.0',
    },
    true,
    (error: Error | null, records?: AggUserRecord[]) => {
      failed = Boolean(error);
      userRecords = records;
    },
  );
  if (failed || !userRecords) {
    out.push({ ...plain, data: new Uint8Array(received) });
    return;
  }
  for (const user of userRecords as AggUserRecord[]) {
    out.push({
      ...base,
      partitionKey: user.partitionKey,
      explicitHashKey: user.explicitPartitionKey,
      subSequenceNumber: user.subSequenceNumber,
      aggregated: true,
      data: new Uint8Array(Buffer.from(user.data, 'base64')),
    });
  }
}
