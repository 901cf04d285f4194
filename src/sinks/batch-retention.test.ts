import { testBatcher } from '../../test/support/batcher.js';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { MemoryBudget } from '../core/memory-budget.js';
import type { UserRecord } from '../core/record.js';
import { PendingBatch } from './pending-batch.js';
import { noAck, userRecord } from '../../test/support/user-record.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const RECORD = userRecord();
const EVENTS_PER_BATCH = 100;
const LINE = 'x'.repeat(400);

/**
 * Memory a sink's delivered batches still hold: a batch whose write is done has left the
 * budget (its bytes are no longer counted), so whatever still reaches it is memory the
 * budget does not see. Collects garbage first (WeakRefs hold their targets for the turn).
 */
async function heldByDelivered(delivered: ReadonlyArray<WeakRef<PendingBatch<string>>>) {
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  let bytes = 0;
  let batches = 0;
  for (const ref of delivered) {
    const batch = ref.deref();
    if (batch) {
      bytes += batch.held;
      batches += 1;
    }
  }
  return { bytes, batches };
}

describe('what delivered batches hold', () => {
  it('a delivered batch is not kept alive by the write queue while later batches wait for a lane (its bytes left the budget)', async () => {
    const memory = new MemoryBudget(64 * 1024 * 1024);
    const writes: Array<() => void> = [];
    const delivered: Array<WeakRef<PendingBatch<string>>> = [];
    // One lane, so cut batches queue behind the write in flight, as under a slow S3.
    const batcher = testBatcher(
      { buffer: { maxRecords: EVENTS_PER_BATCH, maxAgeMs: 60_000 }, memory },
      async (batch) => {
        await new Promise<void>((resolve) => writes.push(resolve));
        delivered.push(new WeakRef(batch));
      },
    );
    const fill = () => {
      const batch = batcher.batchFor('', (openedAt) => new PendingBatch<string>(openedAt));
      for (let n = 0; n < EVENTS_PER_BATCH; n += 1) {
        batcher.added('', batch, batch.add(`${LINE}${n}`, LINE.length, RECORD, noAck));
      }
    };
    // Two batches always wait behind the one being written: the queue never runs dry.
    fill();
    fill();
    fill();
    const rounds = 40;
    for (let round = 0; round < rounds; round += 1) {
      await new Promise((resolve) => setImmediate(resolve));
      writes.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
      fill();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(delivered).toHaveLength(rounds);
    // The budget counts the three batches still cut (one writing, two waiting) ...
    const oneBatch = EVENTS_PER_BATCH * (LINE.length + RECORD.data.byteLength + 1024);
    expect(memory.held).toBe(3 * oneBatch);
    // ... and nothing else may hold the ones already written.
    expect(await heldByDelivered(delivered)).toEqual({ bytes: 0, batches: 0 });
    while (writes.length > 0 || memory.held > 0) {
      writes.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await batcher.close();
  });
});

describe('what an open batch holds per event', () => {
  const at = (ms: number): UserRecord => ({ ...RECORD, approximateArrivalTimestamp: new Date(ms) });

  it('without a dead-letter destination a batch keeps no record per event, only the oldest arrival', () => {
    const batch = new PendingBatch<string>(0);
    let held = 0;
    for (const ms of [5_000, 2_000, 9_000])
      held += batch.add(LINE, LINE.length, at(ms), noAck, false);
    expect(batch.size).toBe(3);
    expect(batch.records).toHaveLength(0);
    expect(batch.oldestArrivalMs).toBe(2_000);
    // Counted as before: the item and the objects around it, no record bytes.
    expect(held).toBe(3 * (LINE.length + 1024));
    // A part of it (a bisected request) keeps the whole batch's oldest arrival.
    expect(batch.slice(2, 3).oldestArrivalMs).toBe(2_000);
  });

  it('with one the records stay (a dead-letter entry needs them), and a part has its own oldest', () => {
    const batch = new PendingBatch<string>(0);
    for (const ms of [5_000, 2_000, 9_000]) batch.add(LINE, LINE.length, at(ms), noAck, true);
    expect(batch.records.map((record) => record.approximateArrivalTimestamp.getTime())).toEqual([
      5_000, 2_000, 9_000,
    ]);
    expect(batch.oldestArrivalMs).toBe(2_000);
    expect(batch.slice(2, 3).oldestArrivalMs).toBe(9_000);
  });
});
