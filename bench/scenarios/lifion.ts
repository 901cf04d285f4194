import { randomBytes } from 'node:crypto';
import type { BenchKinesisEndpoint } from '../kinesis-endpoint/server.js';
import { awsEnv } from '../lib/aws-env.js';
import { startTsChild } from '../lib/child.js';
import { measureConsumer, stdoutProgress, type ThroughputSample } from '../lib/measure.js';
import type { RelayStack } from './relay.js';

/** One run of lifion-kinesis reading the whole backlog, its state on dynalite. */
export async function runLifion(
  endpoint: BenchKinesisEndpoint,
  stack: RelayStack,
): Promise<ThroughputSample> {
  endpoint.resetCounters();
  const suffix = randomBytes(4).toString('hex');
  const worker = startTsChild('bench/scenarios/lifion-worker.ts', [], {
    env: {
      ...awsEnv({ kinesis: endpoint.endpoint, dynamodb: stack.dynamo.endpoint }),
      BENCH_STREAM: endpoint.options.streamName,
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
