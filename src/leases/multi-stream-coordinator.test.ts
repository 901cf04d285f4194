import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import type { Lease } from './lease.js';
import { LeaseCoordinator } from './lease-coordinator.js';
import { LeaseRenewer } from './lease-renewer.js';
import type { LeaseStore } from './lease-store.js';
import type { ShardInfo } from './shard-sync.js';
import type { LeaseStream, LeasedShard } from './stream-scopes.js';
import { acquiringListener, leaseFixture } from '../../test/support/lease-fixture.js';

const silent = createLogger('silent');
const ORDERS = '123456789012:orders:1000';
const CLICKS = '123456789012:clicks:2000';

function shard(shardId: string, parentShardIds: string[] = []): ShardInfo {
  return { shardId, parentShardIds, startingHashKey: '0', endingHashKey: '1' };
}

function multiLease(identifier: string, shardId: string, fields: Partial<Lease> = {}): Lease {
  return leaseFixture(`${identifier}:${shardId}`, null, {
    startingHashKey: '0',
    endingHashKey: '1',
    streamIdentifier: identifier,
    shardId,
    ...fields,
  });
}

/** An in-memory table: creates, takes and deletes by lease key. */
function memoryTable(rows: Lease[]) {
  const store = {
    tableName: 't',
    ensureTable: () => Promise.resolve({ ownerIndexActive: false }),
    listLeases: () => Promise.resolve([...rows]),
    createLeaseIfAbsent: (lease: Lease) => {
      if (rows.some((row) => row.leaseKey === lease.leaseKey)) return Promise.resolve(false);
      rows.push(lease);
      return Promise.resolve(true);
    },
    setChildShardIds: () => Promise.resolve(),
    deleteLease: (lease: Lease) => {
      rows.splice(
        rows.findIndex((row) => row.leaseKey === lease.leaseKey),
        1,
      );
      return Promise.resolve();
    },
    take: (row: Lease, owner: string) => {
      const index = rows.findIndex((r) => r.leaseKey === row.leaseKey);
      rows[index] = { ...row, leaseOwner: owner, leaseCounter: row.leaseCounter + 1 };
      return Promise.resolve(row.leaseCounter + 1);
    },
  } as unknown as LeaseStore;
  return store;
}

function stream(name: string, identifier: string, shards: ShardInfo[]): LeaseStream {
  return {
    name,
    initialPosition: 'LATEST',
    listShards: () => Promise.resolve(shards),
    identify: () => Promise.resolve(identifier),
  };
}

function coordinatorFor(store: LeaseStore, streams: LeaseStream[]) {
  const acquired: LeasedShard[] = [];
  const options = { workerId: 'me', failoverMs: 3000 };
  const renewer = new LeaseRenewer(store, { ...options, renewIntervalMs: 1000 }, silent);
  const coordinator = new LeaseCoordinator(
    store,
    renewer,
    {
      ...options,
      streams,
      takeIntervalMs: 6000,
      claimIntervalMs: 1000,
      shardSyncIntervalMs: 60_000,
      maxLeasesPerWorker: null,
    },
    acquiringListener((_lease, leased) => acquired.push(leased)),
    silent,
    createMetrics(),
  );
  return { coordinator, renewer, acquired };
}

describe('one lease table for several streams (KCL multi-stream)', () => {
  it('creates each stream’s leases under its identifier, with bare parent ids, and takes them all', async () => {
    const rows: Lease[] = [];
    const store = memoryTable(rows);
    const { coordinator, renewer, acquired } = coordinatorFor(store, [
      stream('orders', ORDERS, [shard('shardId-000000000000')]),
      stream('arn:aws:kinesis:us-east-1:123456789012:stream/clicks', CLICKS, [
        shard('shardId-000000000000'),
        shard('shardId-000000000001', ['shardId-000000000000']),
      ]),
    ]);
    await coordinator.start();
    await coordinator.stop();
    renewer.stop();
    expect(rows.map((row) => row.leaseKey).sort()).toEqual([
      `${CLICKS}:shardId-000000000000`,
      `${CLICKS}:shardId-000000000001`,
      `${ORDERS}:shardId-000000000000`,
    ]);
    const child = rows.find((row) => row.leaseKey === `${CLICKS}:shardId-000000000001`);
    expect(child).toMatchObject({
      streamIdentifier: CLICKS,
      shardId: 'shardId-000000000001',
      parentShardIds: ['shardId-000000000000'],
      checkpoint: 'TRIM_HORIZON', // a child starts at its parent's end, not at LATEST
    });
    expect(rows.find((row) => row.leaseKey === `${ORDERS}:shardId-000000000000`)?.checkpoint).toBe(
      'LATEST',
    );
    expect(acquired.map((a) => `${a.stream}/${a.shardId}`).sort()).toEqual([
      'arn:aws:kinesis:us-east-1:123456789012:stream/clicks/shardId-000000000000',
      'arn:aws:kinesis:us-east-1:123456789012:stream/clicks/shardId-000000000001',
      'orders/shardId-000000000000',
    ]);
  });

  it('never takes the leases of a stream it does not consume', async () => {
    const other = multiLease('123456789012:gone:3000', 'shardId-000000000000');
    const rows: Lease[] = [other];
    const store = memoryTable(rows);
    const { coordinator, renewer, acquired } = coordinatorFor(store, [
      stream('orders', ORDERS, [shard('shardId-000000000000')]),
    ]);
    await coordinator.start();
    await coordinator.stop();
    renewer.stop();
    expect(acquired.map((a) => a.shardId)).toEqual(['shardId-000000000000']);
    expect(rows.find((row) => row.leaseKey === other.leaseKey)?.leaseOwner).toBeNull();
  });

  it('a child waits for its parent in its own stream, not for the same shard id of another', async () => {
    const ordersChild = multiLease(ORDERS, 'shardId-000000000001', {
      parentShardIds: ['shardId-000000000000'],
    });
    const clicksChild = multiLease(CLICKS, 'shardId-000000000001', {
      parentShardIds: ['shardId-000000000000'],
    });
    const rows: Lease[] = [
      multiLease(ORDERS, 'shardId-000000000000', { checkpoint: 'SHARD_END' }),
      multiLease(CLICKS, 'shardId-000000000000', { leaseOwner: 'other', leaseCounter: 9 }),
      ordersChild,
      clicksChild,
    ];
    const store = memoryTable(rows);
    // Every shard still listed: nothing is cleaned up.
    const listed = [
      shard('shardId-000000000000'),
      shard('shardId-000000000001', ['shardId-000000000000']),
    ];
    const { coordinator, renewer } = coordinatorFor(store, [
      stream('orders', ORDERS, listed),
      stream('clicks', CLICKS, listed),
    ]);
    await coordinator.start();
    await coordinator.stop();
    renewer.stop();
    const signal = AbortSignal.timeout(1500);
    await expect(coordinator.waitForParents(ordersChild, signal)).resolves.toBe(true);
    // The clicks parent is still being read: its child waits (until the signal stops it).
    await expect(coordinator.waitForParents(clicksChild, signal)).resolves.toBe(false);
  });

  it('refuses a stream listed twice (by name and by ARN: the same identifier)', async () => {
    const { coordinator, renewer } = coordinatorFor(memoryTable([]), [
      stream('orders', ORDERS, []),
      stream('arn:aws:kinesis:us-east-1:123456789012:stream/orders', ORDERS, []),
    ]);
    await expect(coordinator.start()).rejects.toThrow(`streams lists the stream ${ORDERS} twice`);
    renewer.stop();
  });

  it('refuses a table of the other format: single-stream leases under streams:, and back', async () => {
    const single: Lease = { ...multiLease(ORDERS, 'x'), leaseKey: 'shardId-000000000000' };
    delete (single as { streamIdentifier?: string }).streamIdentifier;
    delete (single as { shardId?: string }).shardId;
    const multi = coordinatorFor(memoryTable([single]), [stream('orders', ORDERS, [])]);
    await expect(multi.coordinator.start()).rejects.toThrow(
      'holds single-stream leases (shardId-000000000000): it belongs to a stream: configuration',
    );
    multi.renewer.stop();
    const oneStream: LeaseStream = {
      name: 'orders',
      initialPosition: 'LATEST',
      listShards: () => Promise.resolve([]),
    };
    const back = coordinatorFor(memoryTable([multiLease(ORDERS, 'shardId-000000000000')]), [
      oneStream,
    ]);
    await expect(back.coordinator.start()).rejects.toThrow(
      `holds KCL multi-stream leases (${ORDERS}:shardId-000000000000): configure its streams with streams:`,
    );
    back.renewer.stop();
  });
});
