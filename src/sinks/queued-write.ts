import type PQueue from 'p-queue';

/**
 * Queues `write(batch)` on `queue` so that the queue forgets the batch once the write has
 * started. p-queue (9.x) leaves a dequeued task in its array until it compacts, which it
 * does only when the queue runs dry or more than 100 tasks were taken; a queue that never
 * runs dry (a sink behind on its uploads) kept every written batch of the last 100 tasks,
 * items, records and acknowledgement handles, after they had left the memory budget:
 * 63 such batches (68,000 events) against 16 counted ones in a heap snapshot of the relay
 * at 16 shards (docs/performance.md).
 */
export function queueWrite<B>(
  queue: PQueue,
  batch: B,
  write: (batch: B) => Promise<void>,
): Promise<void> {
  // The task reaches the batch through this slot only, emptied when the write starts.
  const slot: { batch: B | null } = { batch };
  return queue.add(() => {
    const taken = slot.batch;
    slot.batch = null;
    if (taken === null) throw new Error('unreachable: a queued write ran twice');
    return write(taken);
  });
}
