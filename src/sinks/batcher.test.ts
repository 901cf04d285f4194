import { testBatcher } from '../../test/support/batcher.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryBudget } from '../core/memory-budget.js';
import type { Batcher } from './batcher.js';
import { PendingBatch } from './pending-batch.js';
import { noAck, userRecord } from '../../test/support/user-record.js';

const RECORD = userRecord();

/** A batcher whose batches are cut by age only; `deliver` decides how long a write takes. */
function batcherOf(maxAgeMs: number, deliver: (batch: PendingBatch<string>) => Promise<void>) {
  return testBatcher(
    { buffer: { maxAgeMs }, concurrency: 4, orderedKeys: true, growWhileBusy: true },
    deliver,
  );
}

function add(batcher: Batcher<PendingBatch<string>>, key: string, item: string): void {
  const batch = batcher.batchFor(key, (openedAt) => new PendingBatch<string>(openedAt));
  batcher.added(key, batch, batch.add(item, item.length, RECORD, noAck));
}

describe('batches cut by age', () => {
  beforeEach(() => {
    vi.useFakeTimers({
      toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
    });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a batch goes out when it is maxAgeMs old, not at a later timer tick', async () => {
    const delivered: string[][] = [];
    const batcher = batcherOf(200, async (batch) => {
      delivered.push([...batch.items]);
    });
    await vi.advanceTimersByTimeAsync(10);
    add(batcher, 'a', 'first');
    await vi.advanceTimersByTimeAsync(199);
    expect(delivered).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(delivered).toEqual([['first']]);
    await batcher.close();
  });

  it('each open batch goes out at its own age, the younger one after the older', async () => {
    const delivered: string[][] = [];
    const batcher = batcherOf(200, async (batch) => {
      delivered.push([...batch.items]);
    });
    add(batcher, 'a', 'a1');
    await vi.advanceTimersByTimeAsync(130);
    add(batcher, 'b', 'b1');
    add(batcher, 'a', 'a2');
    await vi.advanceTimersByTimeAsync(70);
    expect(delivered).toEqual([['a1', 'a2']]);
    await vi.advanceTimersByTimeAsync(129);
    expect(delivered).toEqual([['a1', 'a2']]);
    await vi.advanceTimersByTimeAsync(1);
    expect(delivered).toEqual([['a1', 'a2'], ['b1']]);
    await batcher.close();
  });

  it('an aged batch whose lane is busy keeps growing and goes out when the lane frees', async () => {
    const delivered: string[][] = [];
    let finishFirst = (): void => undefined;
    const batcher = batcherOf(100, async (batch) => {
      delivered.push([...batch.items]);
      if (delivered.length === 1) await new Promise<void>((resolve) => (finishFirst = resolve));
    });
    add(batcher, 'a', 'a1');
    await vi.advanceTimersByTimeAsync(100);
    expect(delivered).toEqual([['a1']]);
    add(batcher, 'a', 'a2');
    await vi.advanceTimersByTimeAsync(500);
    add(batcher, 'a', 'a3');
    // Held while the first write is in flight, however old.
    expect(delivered).toEqual([['a1']]);
    finishFirst();
    await vi.advanceTimersByTimeAsync(0);
    expect(delivered).toEqual([['a1'], ['a2', 'a3']]);
    await batcher.close();
  });
  it('a batch that comes of age while older ones are being cut still goes out', async () => {
    const delivered: string[][] = [];
    // As the S3 sink's batcher: no lanes, no growing while busy (a write that ends does
    // not look for aged batches, so only the timer can cut them).
    const batcher = testBatcher({ buffer: { maxAgeMs: 1000 }, concurrency: 4 }, async (batch) => {
      delivered.push([...batch.items]);
      // Starting a write can take time before its first await (a Parquet body is
      // encoded synchronously): the clock moves past the next batch's age meanwhile.
      vi.setSystemTime(Date.now() + 5);
    });
    add(batcher, 'a', 'a1');
    await vi.advanceTimersByTimeAsync(2);
    add(batcher, 'b', 'b1');
    await vi.advanceTimersByTimeAsync(998);
    expect(delivered).toEqual([['a1']]);
    // Before: 'b' was due while 'a' was being cut, so it was neither cut nor re-armed for.
    await vi.advanceTimersByTimeAsync(10);
    expect(delivered).toEqual([['a1'], ['b1']]);
    await batcher.close();
  });
});

describe('batches cut for room', () => {
  it('open batches are not cut for room while cut ones wait for a write lane, and are cut when a write ends with room still wanted', async () => {
    const eventBytes = 4 + RECORD.data.byteLength + 1024;
    const memory = new MemoryBudget(25 * eventBytes);
    const writes: Array<() => void> = [];
    const sizes: number[] = [];
    // One lane, batches cut by room only (no size or age cut within the test).
    const batcher = testBatcher({ memory }, async (batch) => {
      sizes.push(batch.size);
      await new Promise<void>((resolve) => writes.push(resolve));
    });
    let opened = 0;
    const page = (events: number) => {
      for (let n = 0; n < events; n += 1) {
        const batch = batcher.batchFor('k', (openedAt) => {
          opened += 1;
          return new PendingBatch<string>(openedAt);
        });
        batcher.added('k', batch, batch.add('item', 4, RECORD, noAck));
      }
      // A shard loop after routing its page: waits while the budget is spent.
      void batcher.waitForCapacity();
    };
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    page(30); // over the budget: cut, and written at once
    await settle();
    expect({ opened, sizes }).toEqual({ opened: 1, sizes: [30] });
    page(25); // still over: cut, and waits behind the write in flight
    await settle();
    expect(opened).toBe(2);
    page(25); // still over, but a cut batch waits for the lane: this one stays open
    await settle();
    expect(opened).toBe(3);
    page(1);
    expect(opened).toBe(3); // the same open batch took the next page's event
    // The first write ends; 51 events are still held, more than the budget: the open
    // batch goes behind the one that now starts.
    writes.shift()?.();
    await settle();
    expect(sizes).toEqual([30, 25]);
    writes.shift()?.();
    await settle();
    expect(sizes).toEqual([30, 25, 26]);
    writes.shift()?.();
    await batcher.close();
    expect(memory.held).toBe(0);
  });
});
