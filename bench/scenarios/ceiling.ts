import type { BenchKinesisEndpoint } from '../kinesis-endpoint/server.js';
import { awsEnv } from '../lib/aws-env.js';
import { startTsChild } from '../lib/child.js';
import { measureConsumer, stdoutProgress, type ThroughputSample } from '../lib/measure.js';

/** One run of the raw GetRecords + JSON.parse loop against the endpoint's stream. */
export async function runCeiling(endpoint: BenchKinesisEndpoint): Promise<ThroughputSample> {
  endpoint.resetCounters();
  const worker = startTsChild('bench/scenarios/ceiling-worker.ts', [], {
    env: { ...awsEnv({ kinesis: endpoint.endpoint }), BENCH_STREAM: endpoint.options.streamName },
  });
  try {
    return await measureConsumer(endpoint, worker, stdoutProgress(worker));
  } finally {
    await worker.stop(5_000);
  }
}
