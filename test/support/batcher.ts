import type { BufferConfig } from '../../src/config/schema.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { Batcher, type BatcherOptions } from '../../src/sinks/batcher.js';
import { PendingBatch } from '../../src/sinks/pending-batch.js';

const GIB = 1024 * 1024 * 1024;

/**
 * A batcher of string items for tests: nothing cuts a batch or holds a write back unless
 * the test says so (buffer limits and the in-flight cap out of reach, one write lane).
 */
export function testBatcher(
  options: Partial<Omit<BatcherOptions, 'buffer'>> & { buffer?: Partial<BufferConfig> },
  deliver: (batch: PendingBatch<string>) => Promise<void>,
): Batcher<PendingBatch<string>> {
  const { buffer, ...rest } = options;
  return new Batcher<PendingBatch<string>>(
    {
      sink: 'test',
      maxInFlightBytes: GIB,
      concurrency: 1,
      metrics: createMetrics(),
      ...rest,
      buffer: { maxRecords: 1_000_000, maxBytes: GIB, maxAgeMs: 3_600_000, ...buffer },
    },
    deliver,
  );
}
