import { describe, expect, it } from 'vitest';
import type { Lease } from './lease.js';
import { planTakes } from './take-planner.js';
import { leaseFixture } from '../../test/support/lease-fixture.js';

function lease(
  key: string,
  owner: string | null,
  checkpoint: Lease['checkpoint'] = 'TRIM_HORIZON',
): Lease {
  return leaseFixture(key, owner, { checkpoint });
}

const noneExpired = new Set<string>();
const firstPick = () => 0;

describe('planTakes (KCL take and steal rules)', () => {
  it('a lone worker takes every unowned lease', () => {
    const leases = ['a', 'b', 'c', 'd'].map((key) => lease(key, null));
    const plan = planTakes({
      leases,
      workerId: 'me',
      expired: noneExpired,
      maxLeasesPerWorker: null,
      random: firstPick,
    });
    expect(plan.take.map((l) => l.leaseKey).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(plan.target).toBe(4);
  });

  it('takes expired leases of a dead worker, but not live ones beyond the even share', () => {
    const leases = [lease('a', 'dead'), lease('b', 'dead'), lease('c', 'live'), lease('d', 'live')];
    const plan = planTakes({
      leases,
      workerId: 'me',
      expired: new Set(['a', 'b']),
      maxLeasesPerWorker: null,
      random: firstPick,
    });
    // live workers: me and live (dead's leases are expired) → target ceil(4/2) = 2
    expect(plan.take.map((l) => l.leaseKey).sort()).toEqual(['a', 'b']);
    expect(plan.steal).toBeNull();
  });

  it('steals one lease from the busiest worker when nothing is free', () => {
    const leases = [lease('a', 'busy'), lease('b', 'busy'), lease('c', 'busy'), lease('d', 'busy')];
    const plan = planTakes({
      leases,
      workerId: 'me',
      expired: noneExpired,
      maxLeasesPerWorker: null,
      random: firstPick,
    });
    expect(plan.take).toEqual([]);
    expect(plan.steal?.leaseOwner).toBe('busy');
  });

  it('does not steal when the share is already even', () => {
    const leases = [lease('a', 'other'), lease('b', 'other'), lease('c', 'me'), lease('d', 'me')];
    const plan = planTakes({
      leases,
      workerId: 'me',
      expired: noneExpired,
      maxLeasesPerWorker: null,
    });
    expect(plan.take).toEqual([]);
    expect(plan.steal).toBeNull();
  });

  it('ignores finished shards and honours maxLeasesPerWorker', () => {
    const leases = [
      lease('done', null, 'SHARD_END'),
      lease('a', null),
      lease('b', null),
      lease('c', null),
    ];
    const plan = planTakes({
      leases,
      workerId: 'me',
      expired: noneExpired,
      maxLeasesPerWorker: 2,
      random: firstPick,
    });
    expect(plan.take).toHaveLength(2);
    expect(plan.take.map((l) => l.leaseKey)).not.toContain('done');
  });
});
