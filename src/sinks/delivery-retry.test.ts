import { describe, expect, it } from 'vitest';
import { RelayError } from '../core/errors.js';
import { backoffDelay } from '../core/backoff.js';
import { RetryAfterError, deliverWithRetry, splitsOn } from './delivery-retry.js';

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

  it('waits as long as Retry-After asks instead of the backoff, but not past the budget', async () => {
    const delays: number[] = [];
    let now = 0;
    let calls = 0;
    const outcome = await deliverWithRetry(
      async () => {
        calls += 1;
        if (calls === 1) throw new RetryAfterError('HTTP_429', 'slow down', 3);
        if (calls === 2) throw new RetryAfterError('HTTP_429', 'slow down', 5000);
      },
      {
        policy: { initialDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 10 },
        mayGiveUp: true,
        onRetry: (_e, _a, delayMs) => {
          delays.push(delayMs);
          now += 2;
        },
        now: () => now,
      },
    );
    expect(outcome.delivered).toBe(true);
    expect(delays).toEqual([3, 8]);
  });

  it('a Retry-After beyond setTimeout (or the budget) is capped at retry.maxElapsedMs also where the sink never gives up', async () => {
    // 30 days in seconds: over setTimeout's 2^31 - 1 ms, which Node turns into 1 ms, so an
    // uncapped wait became a retry at once, again and again.
    const thirtyDaysMs = 30 * 24 * 3600 * 1000;
    const delays: number[] = [];
    let calls = 0;
    const outcome = await deliverWithRetry(
      async () => {
        calls += 1;
        if (calls === 1) throw new RetryAfterError('HTTP_503', 'come back later', thirtyDaysMs);
      },
      {
        policy: { initialDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 20 },
        mayGiveUp: false,
        onRetry: (_e, _a, delayMs) => delays.push(delayMs),
      },
    );
    expect(outcome.delivered).toBe(true);
    expect(delays).toEqual([20]);
  });

  it('says whether a batch was refused or ran out of time', async () => {
    const refused = await deliverWithRetry(
      async () => {
        throw new RelayError('HTTP_400', 'bad request', { retriable: false });
      },
      { policy, mayGiveUp: true, onRetry: () => undefined },
    );
    expect(refused).toMatchObject({ delivered: false, rejected: true, attempts: 1 });
  });

  it('a failing batch gives up after retry.maxAttempts, not only after maxElapsedMs', async () => {
    let calls = 0;
    const outcome = await deliverWithRetry(
      async () => {
        calls += 1;
        throw new Error('500 on a poison record');
      },
      {
        policy: { initialDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 3_600_000, maxAttempts: 3 },
        mayGiveUp: true,
        onRetry: () => undefined,
      },
    );
    expect(calls).toBe(3);
    expect(outcome).toMatchObject({ delivered: false, rejected: false, cause: 'attempts' });
  });

  it('a failing batch whose oldest record is older than retry.maxRecordAgeMs gives up', async () => {
    let now = 10_000;
    const outcome = await deliverWithRetry(
      async () => {
        now += 400;
        throw new Error('down');
      },
      {
        policy: { initialDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 3_600_000, maxRecordAgeMs: 5000 },
        mayGiveUp: true,
        oldestRecordAt: 5500,
        onRetry: () => undefined,
        now: () => now,
      },
    );
    // 10,400 - 5,500 < 5,000; 10,800 - 5,500 is not.
    expect(outcome).toMatchObject({ delivered: false, attempts: 2, cause: 'age' });
  });

  it('a refused batch that can be split ends its retries even without a dead-letter sink', async () => {
    const outcome = await deliverWithRetry(
      async () => {
        throw new RelayError('HTTP_413', 'too large', { retriable: false });
      },
      { policy, mayGiveUp: false, splittable: true, onRetry: () => undefined },
    );
    expect(outcome).toMatchObject({ delivered: false, cause: 'refused', attempts: 1 });
  });
  it('a batch out of maxElapsedMs is bisected, not given up whole, when it can be split', async () => {
    let now = 0;
    const failing = () =>
      deliverWithRetry(
        async () => {
          now += 1000;
          throw new Error('500 on a poison record');
        },
        {
          policy: { initialDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 5000 },
          mayGiveUp: true,
          splittable: true,
          onRetry: () => undefined,
          now: () => now,
        },
      );
    const outcome = await failing();
    expect(outcome).toMatchObject({ delivered: false, cause: 'elapsed' });
    expect(splitsOn('elapsed', true)).toBe(true);
    // Without a dead-letter store nothing is given up: only refusals and attempts split.
    expect(splitsOn('elapsed', false)).toBe(false);
    expect(splitsOn('attempts', false)).toBe(true);
  });
});
