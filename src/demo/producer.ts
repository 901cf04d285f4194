import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import aggregation from 'aws-kinesis-agg';

/** One record to put: its bytes and partition key. */
export interface OutgoingRecord {
  readonly partitionKey: string;
  readonly data: Uint8Array;
}

interface RecordAggregatorInstance {
  addUserRecord(record: { partitionKey: string; data: Buffer }): void;
  build(): { partitionKey: string; data: Buffer };
}

/** Packs user records into one KPL aggregated record, as the KPL does. */
export function kplAggregate(records: readonly OutgoingRecord[]): OutgoingRecord {
  // The package's type declarations leave RecordAggregator out.
  const { RecordAggregator: Aggregator } = aggregation as unknown as {
    RecordAggregator: new () => RecordAggregatorInstance;
  };
  const aggregator = new Aggregator();
  for (const record of records) {
    aggregator.addUserRecord({ partitionKey: record.partitionKey, data: Buffer.from(record.data) });
  }
  const built = aggregator.build();
  return { partitionKey: records[0]?.partitionKey ?? 'aggregate', data: built.data };
}

export async function createStream(
  client: KinesisClient,
  name: string,
  shards: number,
): Promise<void> {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`stream ${name} did not become ACTIVE`);
}

/** Where PutRecords put a record. */
export interface PutResult {
  readonly shardId: string;
  readonly sequenceNumber: string;
}

/**
 * PutRecords in batches of 500, putting failed entries again (throttling on a busy
 * emulator) until every one is in. Returns where each record went, in input order.
 */
export async function putAll(
  client: KinesisClient,
  stream: string,
  records: readonly OutgoingRecord[],
): Promise<PutResult[]> {
  const results: PutResult[] = new Array<PutResult>(records.length);
  for (let start = 0; start < records.length; start += 500) {
    let pending = records
      .slice(start, start + 500)
      .map((record, offset) => ({ record, index: start + offset }));
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt > 50) throw new Error('PutRecords kept failing');
      const entries: PutRecordsRequestEntry[] = pending.map(({ record }) => ({
        PartitionKey: record.partitionKey,
        Data: record.data,
      }));
      const response = await client.send(
        new PutRecordsCommand({ StreamName: stream, Records: entries }),
      );
      const failed: typeof pending = [];
      (response.Records ?? []).forEach((result, i) => {
        const item = pending[i];
        if (!item) return;
        if (result.SequenceNumber && result.ShardId && !result.ErrorCode) {
          results[item.index] = { shardId: result.ShardId, sequenceNumber: result.SequenceNumber };
        } else failed.push(item);
      });
      pending = failed;
      if (pending.length > 0)
        await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
    }
  }
  return results;
}
