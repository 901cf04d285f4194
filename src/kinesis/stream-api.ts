import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type ShardIteratorType,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { RAW_GET_RECORDS, type RawGetRecordsOutput } from './kinesis-protocol.js';

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
export type ShardReadApi = Pick<KinesisStreamApi, 'stream' | 'getShardIterator' | 'getRecords'> &
  Partial<Pick<KinesisStreamApi, 'getRecordsBody'>>;

/** A stream named by ARN is addressed by StreamARN, otherwise by StreamName. */
export function streamParameters(stream: string): { StreamName?: string; StreamARN?: string } {
  return stream.startsWith('arn:') ? { StreamARN: stream } : { StreamName: stream };
}

/**
 * How long one Kinesis call may take in all, the SDK's own retries included. A hung
 * connection then costs one deadline, never a stuck shard: the SDK's socket timeout
 * (30 s) applies per attempt, 4 attempts. GetRecords answers in well under a second on
 * AWS, but a page can hold 10 MB: 15 s leaves room for that on a slow link.
 */
export interface KinesisCallTimeouts {
  readonly getRecordsMs: number;
  /** GetShardIterator, and each ListShards page. */
  readonly callMs: number;
}

export const DEFAULT_KINESIS_CALL_TIMEOUTS: KinesisCallTimeouts = {
  getRecordsMs: 15_000,
  callMs: 10_000,
};

/** A Kinesis call did not answer within its deadline. */
export class KinesisCallTimeoutError extends Error {
  override readonly name = 'KinesisCallTimeoutError';
  constructor(operation: string, timeoutMs: number) {
    super(`${operation} did not answer within ${timeoutMs} ms`);
  }
}

/** One method per Kinesis API call the consumer needs; no policy lives here. */
export class KinesisStreamApi {
  constructor(
    private readonly client: KinesisClient,
    readonly stream: string,
    private readonly timeouts: KinesisCallTimeouts = DEFAULT_KINESIS_CALL_TIMEOUTS,
  ) {}

  /**
   * Sends a call, aborted by `signal` (the loop stopping) or by the call's deadline. One
   * controller per call, its listener on the long-lived stop signal removed when the call
   * ends: AbortSignal.any would leave a follower on that signal per call (5 calls/s/shard
   * for the life of the process; nodejs/node#55351).
   */
  private async sendWithin<T>(
    operation: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    send: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const call = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      call.abort();
    }, timeoutMs);
    const stop = (): void => call.abort(signal?.reason);
    if (signal?.aborted) stop();
    else signal?.addEventListener('abort', stop, { once: true });
    try {
      return await send(call.signal);
    } catch (error) {
      if (timedOut && !signal?.aborted) throw new KinesisCallTimeoutError(operation, timeoutMs);
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
    }
  }

  /** Every shard of the stream, open and closed, following ListShards pagination. */
  async listShards(signal?: AbortSignal): Promise<ShardDescription[]> {
    const shards: ShardDescription[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await this.sendWithin(
        'ListShards',
        this.timeouts.callMs,
        signal,
        (abortSignal) =>
          this.client.send(
            new ListShardsCommand(
              token ? { NextToken: token } : { ...streamParameters(this.stream) },
            ),
            { abortSignal },
          ),
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

  /** The stream's ARN and creation time (a multi-stream lease table names it by both). */
  async describeSummary(signal?: AbortSignal): Promise<{ streamArn: string; createdAt: Date }> {
    const response = await this.sendWithin(
      'DescribeStreamSummary',
      this.timeouts.callMs,
      signal,
      (abortSignal) =>
        this.client.send(new DescribeStreamSummaryCommand({ ...streamParameters(this.stream) }), {
          abortSignal,
        }),
    );
    const summary = response.StreamDescriptionSummary;
    if (!summary?.StreamARN || !summary.StreamCreationTimestamp) {
      throw new Error(`DescribeStreamSummary of ${this.stream} returned no ARN or creation time`);
    }
    return { streamArn: summary.StreamARN, createdAt: summary.StreamCreationTimestamp };
  }

  async getShardIterator(shardId: string, start: IteratorStart, signal?: AbortSignal) {
    const response = await this.sendWithin(
      'GetShardIterator',
      this.timeouts.callMs,
      signal,
      (abortSignal) =>
        this.client.send(
          new GetShardIteratorCommand({
            ...streamParameters(this.stream),
            ShardId: shardId,
            ShardIteratorType: start.type as ShardIteratorType,
            StartingSequenceNumber: 'sequenceNumber' in start ? start.sequenceNumber : undefined,
            Timestamp: 'timestamp' in start ? start.timestamp : undefined,
          }),
          { abortSignal },
        ),
    );
    if (!response.ShardIterator) throw new Error(`no shard iterator returned for ${shardId}`);
    return response.ShardIterator;
  }

  /**
   * GetRecords, its successful body unread: the bytes of the JSON document, for a reader
   * off the main thread (src/pipeline/workers/page-chunker.ts). Errors are the SDK's, as
   * for `getRecords`; a body that reader will not take is read again with `getRecords`.
   */
  async getRecordsBody(iterator: string, limit: number, signal?: AbortSignal): Promise<Uint8Array> {
    const command = this.getRecordsCommand(iterator, limit);
    command.middlewareStack.add(
      (next, context) => (args) => {
        (context as { [RAW_GET_RECORDS]?: boolean })[RAW_GET_RECORDS] = true;
        return next(args);
      },
      { step: 'initialize', name: 'rawGetRecordsBody' },
    );
    const response = await this.sendWithin(
      'GetRecords',
      this.timeouts.getRecordsMs,
      signal,
      (abortSignal) => this.client.send(command, { abortSignal }),
    );
    const raw = (response as unknown as Partial<RawGetRecordsOutput>).RawBody;
    if (!raw)
      throw new Error(
        'GetRecords: the raw body was not returned (client without KinesisJsonProtocol)',
      );
    return raw;
  }

  private getRecordsCommand(iterator: string, limit: number): GetRecordsCommand {
    return new GetRecordsCommand({
      ShardIterator: iterator,
      Limit: limit,
      ...(this.stream.startsWith('arn:') ? { StreamARN: this.stream } : {}),
    });
  }

  async getRecords(iterator: string, limit: number, signal?: AbortSignal): Promise<RecordsPage> {
    const response = await this.sendWithin(
      'GetRecords',
      this.timeouts.getRecordsMs,
      signal,
      (abortSignal) => this.client.send(this.getRecordsCommand(iterator, limit), { abortSignal }),
    );
    return {
      records: response.Records ?? [],
      nextIterator: response.NextShardIterator ?? null,
      millisBehindLatest: response.MillisBehindLatest ?? null,
    };
  }
}
