import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import type { Lease } from './lease.js';
import { LeaseCoordinator } from './lease-coordinator.js';
import { LeaseRenewer } from './lease-renewer.js';
import type { LeaseStore } from './lease-store.js';

const silent = createLogger('silent');

function lease(key: string, owner: string | null, counter: number): Lease {
  return {
    leaseKey: key,
    leaseOwner: owner,
    leaseCounter: counter,
    checkpoint: 'TRIM_HORIZON',
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
    startingHashKey: null,
    endingHashKey: null,
  };
}

/** A table a test fills, recording the takes made against it. */
function fakeTable(rows: Lease[]) {
  const taken: string[] = [];
  const store = {
    listLeases: () => Promise.resolve(rows),
    take: (row: Lease, owner: string) => {
      taken.push(row.leaseKey);
      const index = rows.findIndex((r) => r.leaseKey === row.leaseKey);
      rows[index] = { ...row, leaseOwner: owner, leaseCounter: row.leaseCounter + 1 };
      return Promise.resolve(row.leaseCounter + 1);
    },
  } as unknown as LeaseStore;
  return { store, taken };
}

function coordinatorFor(store: LeaseStore) {
  const options = { workerId: 'me', failoverMs: 3000 };
  const renewer = new LeaseRenewer(store, { ...options, renewIntervalMs: 1000 }, silent);
  return new LeaseCoordinator(
    store,
    renewer,
    () => Promise.resolve([]),
    {
      ...options,
      initialPosition: 'TRIM_HORIZON',
      takeIntervalMs: 6000,
      claimIntervalMs: 1000,
      shardSyncIntervalMs: 60_000,
      maxLeasesPerWorker: null,
    },
    {
      acquired: () => undefined,
      lost: () => undefined,
      paused: () => undefined,
      resumed: () => undefined,
      handoff: () => undefined,
    },
    silent,
    createMetrics(),
  );
}

describe('LeaseCoordinator passes', () => {
  afterEach(() => vi.useRealTimers());

  it('the claim pass takes only unowned leases: an expired lease waits for the full take pass', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const { store, taken } = fakeTable([lease('a', 'gone-worker', 7), lease('b', null, 0)]);
    const coordinator = coordinatorFor(store);
    await coordinator.takePass('unowned');
    expect(taken).toEqual(['b']);
    for (let pass = 0; pass < 5; pass += 1) {
      vi.advanceTimersByTime(1000);
      await coordinator.takePass('unowned');
    }
    // 'a' has not moved for 5 s (> failoverMs) of watching: expired, but not the claim
    // pass's to take.
    expect(taken).toEqual(['b']);
    await coordinator.takePass('full');
    expect(taken).toEqual(['b', 'a']);
  });
});
