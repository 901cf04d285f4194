import { sleep } from '../../src/core/backoff.js';
import type { RecordProcessor } from '../../src/core/processor.js';
import { ShardConsumer } from '../../src/kinesis/shard-consumer.js';
import type { ShardReadApi } from '../../src/kinesis/stream-api.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { TEST_SHARD } from './kinesis-record.js';
import { FAST_SHARD_OPTIONS } from './shard-consumer-options.js';

/**
 * A polling shard loop of TEST_SHARD from TRIM_HORIZON into `processor`, as the relay
 * drives one (a ShardConsumer without a record source): no checkpoints, no parents.
 */
export function pollingLoop(
  api: ShardReadApi,
  processor: RecordProcessor,
  deps: Partial<ConstructorParameters<typeof ShardConsumer>[0]> = {},
): ShardConsumer {
  return new ShardConsumer({
    api,
    shardId: TEST_SHARD,
    startFrom: 'TRIM_HORIZON',
    processor,
    checkpoints: { write: async () => undefined },
    waitForParents: async () => true,
    options: FAST_SHARD_OPTIONS,
    log: createLogger('silent'),
    metrics: createMetrics(),
    ...deps,
  });
}

/** Polls `check` every 10 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
