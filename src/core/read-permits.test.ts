import { describe, expect, it } from 'vitest';
import { ReadPermits } from './read-permits.js';

describe('ReadPermits', () => {
  it('lets at most `limit` holders in and hands a released permit to the next waiter', async () => {
    const permits = new ReadPermits(2);
    const first = await permits.acquire();
    await permits.acquire();
    let thirdIn = false;
    const third = permits.acquire().then((release) => {
      thirdIn = true;
      return release;
    });
    await Promise.resolve();
    expect(thirdIn).toBe(false);
    first();
    first(); // a second release of one permit is ignored
    (await third)();
    expect(thirdIn).toBe(true);
    // Two permits are free again (the second holder still has one): one more fits, not two.
    await permits.acquire();
    let fifthIn = false;
    void permits.acquire().then(() => (fifthIn = true));
    await Promise.resolve();
    expect(fifthIn).toBe(false);
  });

  it('drops a waiter whose signal aborts, without losing the permit', async () => {
    const permits = new ReadPermits(1);
    const held = await permits.acquire();
    const abort = new AbortController();
    const waiting = permits.acquire(abort.signal);
    abort.abort();
    (await waiting)(); // the no-op release of an abandoned wait
    held();
    const again = await permits.acquire();
    expect(typeof again).toBe('function');
  });
});
