import { randomBytes } from 'node:crypto';
import type { BenchKinesisEndpoint } from '../kinesis-endpoint/server.js';
import { awsEnv } from '../lib/aws-env.js';
import { startTsChild } from '../lib/child.js';
import { measureConsumer, stdoutProgress, type ThroughputSample } from '../lib/measure.js';
import { BUCKET, type RelayStack } from './relay.js';

/**
 * One run of lifion-kinesis reading the whole backlog, its state on dynalite: parsing
 * JSON only (`json`), or doing the relay's job around it (`pipeline`: CSV, gzip, one S3
 * object per 10,000 records, on the relay's s3rver).
 */
export async function runLifion(
  endpoint: BenchKinesisEndpoint,
  stack: RelayStack,
  mode: 'json' | 'pipeline' = 'json',
): Promise<ThroughputSample> {
  endpoint.resetCounters();
  const suffix = randomBytes(4).toString('hex');
  const entry =
    mode === 'json'
      ? 'bench/scenarios/lifion-worker.ts'
      : 'bench/scenarios/lifion-pipeline-worker.ts';
  const worker = startTsChild(entry, [], {
    env: {
      ...awsEnv({
        kinesis: endpoint.endpoint,
        dynamodb: stack.dynamo.endpoint,
        s3: stack.s3.endpoint,
      }),
      BENCH_STREAM: endpoint.options.streamName,
      BENCH_BUCKET: BUCKET,
      BENCH_PREFIX: `lifion-${suffix}`,
      BENCH_CONSUMER_GROUP: `bench-${suffix}`,
      BENCH_TABLE: `lifion-${suffix}`,
      // aws-sdk v2 opens a connection per request unless told to keep them alive.
      AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1',
    },
  });
  try {
    return await measureConsumer(endpoint, worker, stdoutProgress(worker));
  } finally {
    await worker.stop(0);
  }
}
