import { afterEach, describe, expect, it, vi } from 'vitest';
import { ExpiryTracker } from './expiry-tracker.js';
import type { Lease } from './lease.js';

const lease = (key: string, counter: number) => ({ leaseKey: key, leaseCounter: counter }) as Lease;

describe('ExpiryTracker', () => {
  afterEach(() => vi.restoreAllMocks());

  it('expires a lease whose counter has not moved for the failover time, on its own clock', () => {
    let now = 0;
    const tracker = new ExpiryTracker(10_000, () => now);
    const scan = (leases: Lease[]) => tracker.observe(leases);
    expect(scan([lease('a', 1), lease('b', 1)])).toEqual(new Set());
    now = 3000;
    scan([lease('a', 1), lease('b', 1)]);
    now = 6000;
    expect(scan([lease('a', 2), lease('b', 1)])).toEqual(new Set());
    now = 9000;
    expect(scan([lease('a', 2), lease('b', 1)])).toEqual(new Set());
    now = 10_001;
    expect(scan([lease('a', 2), lease('b', 1)])).toEqual(new Set(['b']));
    now = 13_000;
    scan([lease('a', 2), lease('b', 1)]);
    now = 16_001;
    expect(scan([lease('a', 2), lease('b', 1)])).toEqual(new Set(['a', 'b']));
  });

  it('lease expiry ignores a wall-clock step (NTP): it reads a monotonic clock', () => {
    let wall = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => wall);
    const tracker = new ExpiryTracker(10_000);
    expect(tracker.observe([lease('a', 1)])).toEqual(new Set());
    wall += 3_600_000;
    expect(tracker.observe([lease('a', 1)])).toEqual(new Set());
  });

  it('a taker whose scans failed or were late cannot judge: it restarts its observation', () => {
    let now = 0;
    const tracker = new ExpiryTracker(3000, () => now);
    tracker.observe([lease('a', 1)]);
    now = 1000;
    tracker.observe([lease('a', 1)]);
    // Scans throttled for 3.5 s: the owner may have renewed and been renewed again unseen.
    now = 4500;
    expect(tracker.observe([lease('a', 1)])).toEqual(new Set());
    now = 6000;
    expect(tracker.observe([lease('a', 1)])).toEqual(new Set());
    now = 7000;
    expect(tracker.observe([lease('a', 1)])).toEqual(new Set());
    now = 7600;
    expect(tracker.observe([lease('a', 1)])).toEqual(new Set(['a']));
  });

  it('counts from the answer of the scan that first saw a counter to the sending of the latest', () => {
    let now = 0;
    const tracker = new ExpiryTracker(3000, () => now);
    // Each scan takes 800 ms: sent at t, answered at t + 800.
    const scan = (sentAt: number) => {
      now = sentAt + 800;
      return tracker.observe([lease('a', 1)], { sentAt });
    };
    for (const sentAt of [0, 1000, 2000, 3000]) expect(scan(sentAt)).toEqual(new Set());
    // Watched from 800 (the first answer) to 3700 (the latest request): 2.9 s.
    expect(scan(3700)).toEqual(new Set());
    expect(scan(3900)).toEqual(new Set(['a']));
  });
});
