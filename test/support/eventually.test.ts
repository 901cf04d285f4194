import { describe, expect, it } from 'vitest';
import { eventually, GiveUp } from './stack.js';

describe('eventually', () => {
  it('keeps polling through ordinary errors until the check answers', async () => {
    let calls = 0;
    const value = await eventually(
      'the third call',
      async () => {
        calls += 1;
        if (calls < 3) throw new Error('not yet');
        return calls;
      },
      5_000,
      1,
    );
    expect(value).toBe(3);
  });

  it('a GiveUp from the check ends the wait at once, naming what it waited for and why', async () => {
    let calls = 0;
    const waiting = eventually(
      'an upload',
      async () => {
        calls += 1;
        throw new GiveUp('the relay exited');
      },
      60_000,
      1,
    );
    await expect(waiting).rejects.toThrow('gave up waiting for an upload: the relay exited');
    expect(calls).toBe(1);
  });
});
