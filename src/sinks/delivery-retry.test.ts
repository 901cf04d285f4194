import { describe, expect, it } from 'vitest';
import { RelayError } from '../core/errors.js';
import { backoffDelay } from '../core/backoff.js';
import { deliverWithRetry } from './delivery-retry.js';

const policy = { initialDelayMs: 1, maxDelayMs: 4, maxElapsedMs: 1000 };

describe('deliverWithRetry', () => {
  it('retries until the write succeeds', async () => {
    let calls = 0;
    const retries: number[] = [];
    const outcome = await deliverWithRetry(
      async () => {
        calls += 1;
        if (calls < 3) throw new Error('503');
      },
      { policy, mayGiveUp: true, onRetry: (_e, attempt) => retries.push(attempt) },
    );
    expect(outcome).toEqual({ delivered: true, attempts: 3 });
    expect(retries).toEqual([1, 2]);
  });

  it('gives up after maxElapsedMs only when there is a dead-letter destination', async () => {
    let now = 0;
    const failing = async () => {
      now += 600;
      throw new Error('down');
    };
    const outcome = await deliverWithRetry(failing, {
      policy,
      mayGiveUp: true,
      onRetry: () => undefined,
      now: () => now,
    });
    expect(outcome).toMatchObject({ delivered: false, attempts: 2, error: 'down' });

    let calls = 0;
    now = 0;
    const eventually = await deliverWithRetry(
      async () => {
        now += 600;
        calls += 1;
        if (calls < 5) throw new Error('down');
      },
      { policy, mayGiveUp: false, onRetry: () => undefined, now: () => now },
    );
    expect(eventually).toEqual({ delivered: true, attempts: 5 });
  });

  it('gives up at once on a non-retriable error', async () => {
    const outcome = await deliverWithRetry(
      async () => {
        throw new RelayError('REJECTED', 'bad request', { retriable: false });
      },
      { policy, mayGiveUp: true, onRetry: () => undefined },
    );
    expect(outcome).toMatchObject({ delivered: false, attempts: 1 });
  });

  it('backs off exponentially with jitter, capped', () => {
    const p = { initialDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(p, 0, () => 0)).toBe(50);
    expect(backoffDelay(p, 0, () => 1)).toBe(100);
    expect(backoffDelay(p, 3, () => 1)).toBe(800);
    expect(backoffDelay(p, 10, () => 1)).toBe(1000);
  });
});
