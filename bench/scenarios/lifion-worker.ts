/*
 * The peer: lifion-kinesis (aws-sdk v2 polling consumer) reading the same stream from the
 * same endpoint, parsing every record as JSON (its shouldParseJson option: one JSON.parse
 * per record, as the ceiling does). It keeps its consumer state in DynamoDB (dynalite).
 * Run as its own process by the peer scenario; prints its progress on stdout.
 */
import { createRequire } from 'node:module';

interface LifionRecord {
  readonly data: unknown;
}
interface LifionBatch {
  readonly records: readonly LifionRecord[];
}
interface LifionConsumer {
  on(event: 'data', listener: (batch: LifionBatch) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
  startConsumer(): Promise<void>;
}
type LifionConstructor = new (options: Record<string, unknown>) => LifionConsumer;

const require = createRequire(import.meta.url);
const Kinesis = require('lifion-kinesis') as LifionConstructor;

const env = process.env;
const consumer = new Kinesis({
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

let checksum = 0;
let processed = 0;
consumer.on('data', (batch) => {
  for (const record of batch.records) {
    const event = record.data as { event_type?: string };
    checksum += event.event_type?.length ?? 0;
  }
  processed += batch.records.length;
});
// Progress for the bench (records handed to us so far), read from stdout.
setInterval(() => console.log(`progress ${processed}`), 50);
consumer.on('error', (error) => console.error('lifion-kinesis error:', error.message));
await consumer.startConsumer();
process.on('SIGTERM', () => {
  console.log(JSON.stringify({ checksum }));
  process.exit(0);
});
