import { describe, expect, it } from 'vitest';
import { ExpiryTracker } from './expiry-tracker.js';
import type { Lease } from './lease.js';

const lease = (key: string, counter: number) => ({ leaseKey: key, leaseCounter: counter }) as Lease;

describe('ExpiryTracker', () => {
  it('expires a lease whose counter has not moved for the failover time, on its own clock', () => {
    let now = 0;
    const tracker = new ExpiryTracker(10_000, () => now);
    expect(tracker.observe([lease('a', 1), lease('b', 1)])).toEqual(new Set());
    now = 6_000;
    expect(tracker.observe([lease('a', 2), lease('b', 1)])).toEqual(new Set());
    now = 10_001;
    expect(tracker.observe([lease('a', 2), lease('b', 1)])).toEqual(new Set(['b']));
    now = 16_001;
    expect(tracker.observe([lease('a', 2), lease('b', 1)])).toEqual(new Set(['a', 'b']));
  });
});
