import { testBatcher } from '../../test/support/batcher.js';
import { describe, expect, it } from 'vitest';
import { MemoryBudget } from '../core/memory-budget.js';
import { PageSize, ReadPermits } from '../core/read-permits.js';
import { PendingBatch } from './pending-batch.js';
import { noAck, userRecord } from '../../test/support/user-record.js';

const RECORD = userRecord({ data: new Uint8Array(1000) });

describe('a spent memory budget', () => {
  it('a shard loop waiting for room makes the sinks cut their open batches instead of waiting for maxAgeMs', async () => {
    const budget = new MemoryBudget(4 * 1024 * 1024);
    const delivered: number[] = [];
    // Neither size nor age cuts the batch within the test (testBatcher's limits).
    const batcher = testBatcher({ memory: budget }, async (batch) => {
      delivered.push(batch.size);
    });
    // Nearly all of the budget in one open batch: not full, but no room for a page.
    while (budget.available > 4000) {
      const batch = batcher.batchFor('', (openedAt) => new PendingBatch<string>(openedAt));
      batcher.added('', batch, batch.add('x'.repeat(1000), 1000, RECORD, noAck));
    }
    expect(budget.full).toBe(false);
    const permits = new ReadPermits(1, budget, 1);
    const page = new PageSize(10_000);
    page.observe(1, [RECORD]);
    const release = await permits.acquire(undefined, page);
    expect(delivered).toHaveLength(1);
    expect(page.limit).toBeGreaterThan(100);
    release();
    await batcher.close();
  });
});
