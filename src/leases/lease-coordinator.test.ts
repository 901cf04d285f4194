import { Writable } from 'node:stream';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, type Logger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import type { Lease } from './lease.js';
import { LeaseCoordinator } from './lease-coordinator.js';
import { LeaseRenewer } from './lease-renewer.js';
import type { LeaseStore } from './lease-store.js';
import { acquiringListener, leaseFixture } from '../../test/support/lease-fixture.js';

const silent = createLogger('silent');

function lease(key: string, owner: string | null, counter: number): Lease {
  return leaseFixture(key, owner, { leaseCounter: counter });
}

/** A table a test fills, recording the takes made against it. */
function fakeTable(rows: Lease[]) {
  const taken: string[] = [];
  const store = {
    listLeases: () => Promise.resolve(rows),
    renew: () =>
      Promise.reject(new ConditionalCheckFailedException({ message: 'moved', $metadata: {} })),
    take: (row: Lease, owner: string) => {
      taken.push(row.leaseKey);
      const index = rows.findIndex((r) => r.leaseKey === row.leaseKey);
      rows[index] = { ...row, leaseOwner: owner, leaseCounter: row.leaseCounter + 1 };
      return Promise.resolve(row.leaseCounter + 1);
    },
  } as unknown as LeaseStore;
  return { store, taken };
}

function coordinatorFor(store: LeaseStore, log: Logger = silent) {
  const options = { workerId: 'me', failoverMs: 3000 };
  const renewer = new LeaseRenewer(store, { ...options, renewIntervalMs: 1000 }, silent);
  const coordinator = new LeaseCoordinator(
    store,
    renewer,
    {
      ...options,
      streams: [
        { name: 's', initialPosition: 'TRIM_HORIZON', listShards: () => Promise.resolve([]) },
      ],
      takeIntervalMs: 6000,
      claimIntervalMs: 1000,
      shardSyncIntervalMs: 60_000,
      maxLeasesPerWorker: null,
    },
    acquiringListener(),
    log,
    createMetrics(),
  );
  return { coordinator, renewer };
}

/** A logger whose lines a test can read. */
function capturedLog() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger('info', stream), lines };
}

describe('LeaseCoordinator passes', () => {
  afterEach(() => vi.useRealTimers());

  it('the claim pass takes only unowned leases: an expired lease waits for the full take pass', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const { store, taken } = fakeTable([lease('a', 'gone-worker', 7), lease('b', null, 0)]);
    const { coordinator } = coordinatorFor(store);
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

  it("two processes with the same worker id do not re-take each other's leases, and the duplicate id is reported", async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const rows = [lease('a', 'me', 1)];
    const { store, taken } = fakeTable(rows);
    const { log, lines } = capturedLog();
    const { coordinator, renewer } = coordinatorFor(store, log);
    await coordinator.takePass('unowned'); // ours from before a restart: taken at once
    expect(taken).toEqual(['a']);
    // The other process with our id takes it back; our next renewal fails its condition.
    rows[0] = { ...lease('a', 'me', 5) };
    await renewer.renewAll();
    expect(renewer.holds('a')).toBe(false);
    for (let pass = 0; pass < 4; pass += 1) {
      vi.advanceTimersByTime(1000);
      rows[0] = { ...lease('a', 'me', 6 + pass) }; // and renews it
      await coordinator.takePass(pass % 2 === 0 ? 'unowned' : 'full');
    }
    expect(taken).toEqual(['a']);
    expect(lines.join('')).toContain('another process renews leases under this worker id');
  });

  it('a lease this process lost, then saw with another owner, is taken at once when given back to it', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const rows = [lease('a', 'me', 1)];
    const { store, taken } = fakeTable(rows);
    const { coordinator, renewer } = coordinatorFor(store);
    await coordinator.takePass('unowned');
    expect(taken).toEqual(['a']);
    // Paused too long: another worker took it, and our renewal fails its condition.
    rows[0] = lease('a', 'other', 5);
    await renewer.renewAll();
    expect(renewer.holds('a')).toBe(false);
    vi.advanceTimersByTime(1000);
    await coordinator.takePass('full'); // sees it with its new owner
    // That worker shuts down and gives it to us (the least loaded live worker).
    rows[0] = lease('a', 'me', 9);
    vi.advanceTimersByTime(1000);
    await coordinator.takePass('unowned');
    expect(taken).toEqual(['a', 'a']);
    expect(renewer.holds('a')).toBe(true);
  });

  it('with the owner index the claim pass never scans: it reads only the leases in our name it does not hold, finished ones once', async () => {
    const rows = [
      lease('held', null, 0),
      lease('given', 'me', 4),
      { ...lease('done', 'me', 9), checkpoint: 'SHARD_END' as const },
      lease('theirs', 'other', 2),
    ];
    const { store, taken } = fakeTable(rows);
    let scans = 0;
    const gets: string[] = [];
    const fake = store as unknown as Record<string, unknown>;
    const list = store.listLeases.bind(store);
    Object.assign(fake, {
      tableName: 't',
      ensureTable: () => Promise.resolve({ ownerIndexActive: true }),
      createLeaseIfAbsent: () => Promise.resolve(false),
      deleteLease: () => Promise.resolve(), // the finished lease stays for the test
      listLeases: () => {
        scans += 1;
        return list();
      },
      listLeaseKeysOwnedBy: (owner: string) =>
        Promise.resolve(rows.filter((r) => r.leaseOwner === owner).map((r) => r.leaseKey)),
      getLease: (key: string) => {
        gets.push(key);
        return Promise.resolve(rows.find((r) => r.leaseKey === key) ?? null);
      },
    });
    // The passes below are run by hand: the timers never fire.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { coordinator } = coordinatorFor(store);
    await coordinator.start(); // its scans: the format check, the shard sync, a full pass
    expect(taken.sort()).toEqual(['given', 'held']);
    const startScans = scans;

    rows.push(lease('new', null, 0)); // new leases wait for the full pass
    rows[3] = lease('theirs', 'me', 3); // given to us since
    await coordinator.takePass('unowned');
    await coordinator.takePass('unowned');
    expect(scans).toBe(startScans);
    expect(taken.sort()).toEqual(['given', 'held', 'theirs']);
    // 'done' read once and remembered; 'theirs' once, then held.
    expect(gets.sort()).toEqual(['done', 'theirs']);
    await coordinator.stop();
  });

  it("with the owner index a dead owner's lease still expires at the default take interval (2 x failover), though only full passes scan", async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const rows = [lease('a', 'gone-worker', 7), lease('b', 'me', 1)];
    const { store, taken } = fakeTable(rows);
    Object.assign(store as unknown as Record<string, unknown>, {
      tableName: 't',
      ensureTable: () => Promise.resolve({ ownerIndexActive: true }),
      createLeaseIfAbsent: () => Promise.resolve(false),
      listLeaseKeysOwnedBy: (owner: string) =>
        Promise.resolve(rows.filter((r) => r.leaseOwner === owner).map((r) => r.leaseKey)),
      getLease: (key: string) => Promise.resolve(rows.find((r) => r.leaseKey === key) ?? null),
    });
    const { coordinator } = coordinatorFor(store); // failover 3 s, take interval 6 s
    await coordinator.start(); // a full pass: 'a' first seen
    expect(taken).toEqual(['b']);
    for (let second = 1; second <= 6; second += 1) {
      vi.advanceTimersByTime(1000);
      await coordinator.takePass('unowned'); // the index: no scan, no expiry
    }
    expect(taken).toEqual(['b']);
    await coordinator.takePass('full'); // 6 s of an unchanged counter, watched
    expect(taken).toEqual(['b', 'a']);
    await coordinator.stop();
  });

  it("children waiting for their parents share the take pass's scan, and a failed scan is retried, not fatal", async () => {
    const parent: Lease = { ...lease('p', null, 3), checkpoint: 'SHARD_END' };
    const children = ['c1', 'c2', 'c3'].map((key) => ({
      ...lease(key, 'me', 1),
      parentShardIds: ['p'],
    }));
    let scans = 0;
    let failNext = false;
    const { store } = fakeTable([parent, ...children]);
    const scanning = store as unknown as { listLeases: () => Promise<Lease[]> };
    const list = scanning.listLeases;
    scanning.listLeases = () => {
      scans += 1;
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('ProvisionedThroughputExceededException'));
      }
      return list();
    };
    const signal = new AbortController().signal;

    const fresh = coordinatorFor(store).coordinator;
    failNext = true; // no scan to share yet: the child scans, and its first scan fails
    await expect(fresh.waitForParents(children[0]!, signal)).resolves.toBe(true);
    expect(scans).toBe(2);

    const { coordinator } = coordinatorFor(store);
    await coordinator.takePass('unowned');
    const before = scans;
    const results = await Promise.all(children.map((c) => coordinator.waitForParents(c, signal)));
    expect(results).toEqual([true, true, true]);
    expect(scans).toBe(before);
  });
});
