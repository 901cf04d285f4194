import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type ShardIteratorType,
  type _Record,
} from '@aws-sdk/client-kinesis';

export interface ShardDescription {
  readonly shardId: string;
  readonly parentShardIds: readonly string[];
  readonly startingHashKey: string;
  readonly endingHashKey: string;
  /** A closed shard has an ending sequence number: it will reach SHARD_END. */
  readonly closed: boolean;
}

export type IteratorStart =
  | { readonly type: 'TRIM_HORIZON' | 'LATEST' }
  | { readonly type: 'AT_TIMESTAMP'; readonly timestamp: Date }
  | {
      readonly type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER';
      readonly sequenceNumber: string;
    };

export interface RecordsPage {
  readonly records: readonly _Record[];
  /** Null once a closed shard has been read to its end. */
  readonly nextIterator: string | null;
  readonly millisBehindLatest: number | null;
}

/** What a shard loop calls: one stream's iterators and pages. */
export type ShardReadApi = Pick<KinesisStreamApi, 'stream' | 'getShardIterator' | 'getRecords'>;

/** A stream named by ARN is addressed by StreamARN, otherwise by StreamName. */
export function streamParameters(stream: string): { StreamName?: string; StreamARN?: string } {
  return stream.startsWith('arn:') ? { StreamARN: stream } : { StreamName: stream };
}

/** One method per Kinesis API call the consumer needs; no policy lives here. */
export class KinesisStreamApi {
  constructor(
    private readonly client: KinesisClient,
    readonly stream: string,
  ) {}

  /** Every shard of the stream, open and closed, following ListShards pagination. */
  async listShards(signal?: AbortSignal): Promise<ShardDescription[]> {
    const shards: ShardDescription[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListShardsCommand(
          nextToken ? { NextToken: nextToken } : { ...streamParameters(this.stream) },
        ),
        { abortSignal: signal },
      );
      for (const shard of page.Shards ?? []) {
        if (!shard.ShardId) continue;
        shards.push({
          shardId: shard.ShardId,
          parentShardIds: [shard.ParentShardId, shard.AdjacentParentShardId].filter(
            (id): id is string => Boolean(id),
          ),
          startingHashKey: shard.HashKeyRange?.StartingHashKey ?? '0',
          endingHashKey: shard.HashKeyRange?.EndingHashKey ?? '0',
          closed: Boolean(shard.SequenceNumberRange?.EndingSequenceNumber),
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return shards;
  }

  async getShardIterator(shardId: string, start: IteratorStart, signal?: AbortSignal) {
    const response = await this.client.send(
      new GetShardIteratorCommand({
        ...streamParameters(this.stream),
        ShardId: shardId,
        ShardIteratorType: start.type as ShardIteratorType,
        StartingSequenceNumber: 'sequenceNumber' in start ? start.sequenceNumber : undefined,
        Timestamp: 'timestamp' in start ? start.timestamp : undefined,
      }),
      { abortSignal: signal },
    );
    if (!response.ShardIterator) throw new Error(`no shard iterator returned for ${shardId}`);
    return response.ShardIterator;
  }

  async getRecords(iterator: string, limit: number, signal?: AbortSignal): Promise<RecordsPage> {
    const response = await this.client.send(
      new GetRecordsCommand({
        ShardIterator: iterator,
        Limit: limit,
        ...(this.stream.startsWith('arn:') ? { StreamARN: this.stream } : {}),
      }),
      { abortSignal: signal },
    );
    return {
      records: response.Records ?? [],
      nextIterator: response.NextShardIterator ?? null,
      millisBehindLatest: response.MillisBehindLatest ?? null,
    };
  }
}
