import { createRequire } from 'node:module';

/*
 * lifion-kinesis as both peer workers start it: aws-sdk v2 polling consumer, every shard
 * read from this one process, its state on dynalite, each record's data parsed as JSON.
 */

export interface LifionRecord {
  readonly data: unknown;
  readonly sequenceNumber: string;
  readonly approximateArrivalTimestamp: Date | string | number;
  readonly partitionKey: string;
}
export interface LifionBatch {
  readonly shardId: string;
  readonly streamName: string;
  readonly records: readonly LifionRecord[];
}
export interface LifionConsumer {
  on(event: 'data', listener: (batch: LifionBatch) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  startConsumer(): Promise<void>;
}
type LifionConstructor = new (options: Record<string, unknown>) => LifionConsumer;

const require = createRequire(import.meta.url);

export function createLifionConsumer(env: NodeJS.ProcessEnv): LifionConsumer {
  const Kinesis = require('lifion-kinesis') as LifionConstructor;
  return new Kinesis({
    streamName: env.BENCH_STREAM ?? 'bench',
    consumerGroup: env.BENCH_CONSUMER_GROUP ?? 'bench',
    endpoint: env.AWS_ENDPOINT_URL_KINESIS,
    region: env.AWS_REGION,
    createStreamIfNeeded: false,
    initialPositionInStream: 'TRIM_HORIZON',
    // Read every shard from this one process (no lease hand-out to wait for).
    useAutoShardAssignment: false,
    shouldParseJson: true,
    limit: 10_000,
    // Its best case: the next poll right after a page (the relay paces at 5 calls/s/shard).
    pollDelay: 0,
    statsInterval: 600_000,
    dynamoDb: {
      endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
      region: env.AWS_REGION,
      tableName: env.BENCH_TABLE,
    },
  });
}
