import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startDynalite, type RunningEmulator } from '../../../src/demo/emulators.js';
import {
  BenchKinesisEndpoint,
  type EndpointOptions,
} from '../../../bench/kinesis-endpoint/server.js';
import { sequenceNumberAt } from '../../../bench/kinesis-endpoint/record-template.js';
import type { TimedPut } from './rate-producer.js';

/**
 * The benchmark Kinesis endpoint (a pre-filled stream served from memory, with a
 * configurable iterator lifetime and trim horizon) and dynalite for the leases: what the
 * scenarios about iterator expiry and trimmed checkpoints need, in seconds instead of the
 * 5 real minutes kinesis-local's iterators live.
 */
export interface BenchStack {
  readonly kinesis: BenchKinesisEndpoint;
  readonly dynamo: RunningEmulator;
  /** A client of dynalite, for the lease table. */
  readonly dynamoClient: DynamoDBDocumentClient;
  relayEnv(): NodeJS.ProcessEnv;
  /** Every record the endpoint serves from `from` on, as put records. */
  records(from?: number): TimedPut[];
  stop(): Promise<void>;
}

export async function startBenchStack(options: EndpointOptions): Promise<BenchStack> {
  const kinesis = new BenchKinesisEndpoint(options);
  await kinesis.start();
  const dynamo = await startDynalite();
  const env = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
  };
  const dynamoClient = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      region: 'us-east-1',
      endpoint: dynamo.endpoint,
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  return {
    kinesis,
    dynamo,
    dynamoClient,
    relayEnv: () => ({ ...env }),
    records(from = 0) {
      const put: TimedPut[] = [];
      for (let shard = 0; shard < options.shardCount; shard += 1) {
        const shardId = `shardId-${String(shard).padStart(12, '0')}`;
        for (let position = from; position < options.recordsPerShard; position += 1) {
          put.push({
            n: shard * options.recordsPerShard + position,
            partitionKey: '',
            shardId,
            sequenceNumber: sequenceNumberAt(position, kinesis.template.size),
            at: 0,
          });
        }
      }
      return put;
    },
    stop: async () => {
      dynamoClient.destroy();
      await Promise.allSettled([kinesis.stop(), dynamo.stop()]);
    },
  };
}
