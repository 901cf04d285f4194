import { describe, expect, it } from 'vitest';
import { ReadPermits } from '../core/read-permits.js';
import { ReadPause } from './read-pause.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('ReadPause', () => {
  it('a shard paused while it waits for a read permit does not read until resumed', async () => {
    const permits = new ReadPermits(1);
    const other = await permits.acquire(); // another shard holds the only permit
    const reads = new ReadPause(permits);
    let granted = false;
    const waiting = reads.acquire().then((release) => {
      granted = true;
      return release;
    });
    await tick();
    reads.pause();
    other(); // the permit frees while this shard is paused
    await tick();
    expect(granted).toBe(false);
    reads.resume();
    (await waiting)();
    expect(granted).toBe(true);
  });

  it('an abort ends the wait of a paused shard', async () => {
    const reads = new ReadPause();
    reads.pause();
    const abort = new AbortController();
    const waiting = reads.acquire(abort.signal);
    abort.abort();
    await expect(waiting).resolves.toBeTypeOf('function');
  });
});
