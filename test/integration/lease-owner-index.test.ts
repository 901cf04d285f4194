import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaseCoordinator } from '../../src/leases/lease-coordinator.js';
import { LeaseRenewer } from '../../src/leases/lease-renewer.js';
import { LeaseStore, OWNER_INDEX } from '../../src/leases/lease-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { eventually, uniqueName, useTestStack } from '../support/stack.js';
import { acquiringListener, leaseFixture } from '../support/lease-fixture.js';

/*
 * KCL 3's owner index (LeaseOwnerToLeaseKeyIndex) on a real DynamoDB (dynalite): tables we
 * create get it, the claim pass reads the leases in our name through it instead of
 * scanning, and a lease released on shutdown goes to a live worker that finds it there.
 * The workers' DynamoDB calls go through a counting proxy.
 */

const silent = createLogger('silent');
const FAILOVER_MS = 3000;

const lease = leaseFixture;

interface Worker {
  readonly id: string;
  readonly coordinator: LeaseCoordinator;
  readonly renewer: LeaseRenewer;
  readonly acquired: string[];
}

describe("KCL 3's owner index on the lease table", () => {
  const test = useTestStack();
  let proxy: FaultProxy | undefined;
  const running: Worker[] = [];
  const clients: DynamoDBClient[] = [];

  afterEach(async () => {
    for (const worker of running.splice(0)) {
      await worker.coordinator.stop();
      worker.renewer.stop();
    }
    for (const client of clients.splice(0)) client.destroy();
    await proxy?.close();
    proxy = undefined;
  });

  /** A lease store whose calls go through the counting proxy. */
  async function countedStore(table: string): Promise<LeaseStore> {
    proxy ??= await startFaultProxy({ target: test.stack.dynamo.endpoint });
    const client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: proxy.endpoint,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    clients.push(client);
    return new LeaseStore(
      DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
      table,
      { callTimeoutMs: 1000 },
    );
  }

  /** A worker of one application, as the relay wires it, on a stream with no new shards. */
  async function startWorker(
    table: string,
    id: string,
    // No full pass during most tests: only the start's, and the claim passes.
    takeIntervalMs = 600_000,
  ): Promise<Worker> {
    const store = await countedStore(table);
    const renewer = new LeaseRenewer(
      store,
      { workerId: id, failoverMs: FAILOVER_MS, renewIntervalMs: 1000 },
      silent,
    );
    const acquired: string[] = [];
    const coordinator = new LeaseCoordinator(
      store,
      renewer,
      {
        workerId: id,
        streams: [
          { name: 's', initialPosition: 'TRIM_HORIZON', listShards: () => Promise.resolve([]) },
        ],
        failoverMs: FAILOVER_MS,
        takeIntervalMs,
        claimIntervalMs: 200,
        shardSyncIntervalMs: 600_000,
        maxLeasesPerWorker: null,
      },
      acquiringListener((taken) => acquired.push(taken.leaseKey)),
      silent,
      createMetrics(),
    );
    const worker = { id, coordinator, renewer, acquired };
    running.push(worker);
    await coordinator.start();
    return worker;
  }

  /**
   * Workers holding the leases `owners` gives them (shardId-<n> to owners[n]), as left by a
   * previous run of each; started in the order given, each taking its own at start.
   */
  async function workersWith(table: string, owners: readonly string[]): Promise<Worker[]> {
    const seed = new LeaseStore(test.clients.dynamo, table);
    await seed.ensureTable(); // created with the index, or found as it is
    for (const [n, owner] of owners.entries())
      await seed.createLeaseIfAbsent(lease(`shardId-${n}`, owner));
    const workers: Worker[] = [];
    for (const id of new Set(owners)) workers.push(await startWorker(table, id));
    for (const worker of workers)
      expect(worker.renewer.heldShardIds().sort()).toEqual(
        owners.flatMap((owner, n) => (owner === worker.id ? [`shardId-${n}`] : [])),
      );
    return workers;
  }

  /** Two workers holding two leases each. */
  async function twoWorkers(table: string): Promise<[Worker, Worker]> {
    const [b, a] = await workersWith(table, ['worker-a', 'worker-a', 'worker-b', 'worker-b']);
    if (!a || !b) throw new Error('two workers expected');
    return [b, a];
  }

  it('a table we create has the index in KCL 3’s shape (leaseOwner HASH, leaseKey RANGE, KEYS_ONLY)', async () => {
    const table = uniqueName('owner-index');
    const store = new LeaseStore(test.clients.dynamo, table);
    expect(await store.ensureTable()).toEqual({ ownerIndexActive: true });
    const { Table } = await test.clients.dynamo.send(
      new DescribeTableCommand({ TableName: table }),
    );
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'leaseKey', KeyType: 'HASH' }]);
    const index = Table?.GlobalSecondaryIndexes?.find((gsi) => gsi.IndexName === OWNER_INDEX);
    expect(OWNER_INDEX).toBe('LeaseOwnerToLeaseKeyIndex');
    expect(index).toMatchObject({
      IndexStatus: 'ACTIVE',
      KeySchema: [
        { AttributeName: 'leaseOwner', KeyType: 'HASH' },
        { AttributeName: 'leaseKey', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    });
    // A second start finds the table as it is.
    expect(await store.ensureTable()).toEqual({ ownerIndexActive: true });
  });

  it('a lease released on shutdown goes to the live worker, which finds it through the index with no Scan', async () => {
    const table = uniqueName('owner-index');
    const [a, b] = await twoWorkers(table);
    const counter = proxy;
    if (!counter) throw new Error('no proxy');
    const before = {
      scans: counter.callCount('Scan'),
      queries: counter.callCount('Query'),
      gets: counter.callCount('GetItem'),
    };
    await a.coordinator.stop();
    await a.coordinator.release('shardId-0');
    expect(a.renewer.holds('shardId-0')).toBe(false);
    await eventually(
      'worker-b to take the lease released to it',
      () => Promise.resolve(b.renewer.holds('shardId-0') ? true : undefined),
      20_000,
      50,
    );
    expect(b.acquired).toContain('shardId-0');
    const row = await new LeaseStore(test.clients.dynamo, table).getLease('shardId-0');
    expect(row).toMatchObject({ leaseOwner: 'worker-b', ownerSwitchesSinceCheckpoint: 1 });
    // Found through the owner index (a Query per claim pass) and one consistent GetItem:
    // no worker scanned the table meanwhile.
    expect(counter.callCount('Scan') - before.scans).toBe(0);
    expect(counter.callCount('Query') - before.queries).toBeGreaterThan(0);
    expect(counter.callCount('GetItem') - before.gets).toBeGreaterThanOrEqual(1);
  });

  it('a lease given to a worker that is stopping too is passed on to a live one', async () => {
    const table = uniqueName('owner-index');
    // worker-b holds fewer leases than worker-c: the first choice of worker-a's release.
    // (Nobody is below the target of 3 leases, so nobody steals at start.)
    const [a, b, c] = await workersWith(table, [
      'worker-a',
      'worker-a',
      'worker-b',
      'worker-b',
      'worker-c',
      'worker-c',
      'worker-c',
    ]);
    if (!a || !b || !c) throw new Error('three workers expected');
    // worker-b is shutting down: it takes nothing more, but still renews what it holds.
    await b.coordinator.stop();
    await a.coordinator.stop();
    await a.coordinator.release('shardId-0');
    const store = new LeaseStore(test.clients.dynamo, table);
    expect(await store.getLease('shardId-0')).toMatchObject({ leaseOwner: 'worker-b' });
    await a.coordinator.confirmReleases(performance.now() + 20_000);
    expect(c.renewer.holds('shardId-0')).toBe(true);
    expect(await store.getLease('shardId-0')).toMatchObject({ leaseOwner: 'worker-c' });
    expect(b.renewer.holds('shardId-0')).toBe(false);
  });

  it('a replica that started after the last full pass gets the leases of one stopping', async () => {
    const table = uniqueName('owner-index');
    // worker-a holds every lease; its start pass was its last full pass.
    const [a] = await workersWith(table, ['worker-a', 'worker-a', 'worker-a', 'worker-a']);
    if (!a) throw new Error('one worker expected');
    // worker-b starts with none and asks for one (a balancing handoff) at its start pass.
    const b = await startWorker(table, 'worker-b');
    const store = new LeaseStore(test.clients.dynamo, table);
    const rows = await store.listLeases();
    expect(rows.filter((row) => row.leaseOwner === 'worker-b')).toHaveLength(1);
    await a.coordinator.stop();
    await a.coordinator.releaseAll();
    await eventually(
      'worker-b to take every lease',
      () => Promise.resolve(b.renewer.heldShardIds().length === 4 ? true : undefined),
      20_000,
      50,
    );
    expect((await store.listLeases()).map((row) => row.leaseOwner)).toEqual(
      Array(4).fill('worker-b'),
    );
  });

  /** worker-a holds 4 leases; worker-b starts and asks for one at its start pass. */
  async function askedForOne(table: string): Promise<{ a: Worker; b: Worker; key: string }> {
    const [a] = await workersWith(table, ['worker-a', 'worker-a', 'worker-a', 'worker-a']);
    if (!a) throw new Error('one worker expected');
    const b = await startWorker(table, 'worker-b');
    const asked = (await new LeaseStore(test.clients.dynamo, table).listLeases()).filter(
      (row) => row.leaseOwner === 'worker-b',
    );
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ checkpointOwner: 'worker-a' });
    return { a, b, key: asked[0]?.leaseKey ?? '' };
  }

  /** worker-a has seen, at a renewal, that worker-b asked for the lease (it stops reading then). */
  const noticedHandoff = (a: Worker, key: string) =>
    eventually(
      'worker-a to notice the handoff at a renewal',
      () => Promise.resolve(a.renewer.handoffTarget(key) === 'worker-b' || undefined),
      10_000,
      50,
    );

  it('a worker stopping withdraws a handoff it asked for: the lease stays with its owner, which goes on renewing it', async () => {
    const table = uniqueName('owner-index');
    const { a, b, key } = await askedForOne(table);
    await b.coordinator.stop();
    await b.coordinator.releaseAll();
    const store = new LeaseStore(test.clients.dynamo, table);
    const row = await store.getLease(key);
    expect(row?.leaseOwner).toBe('worker-a');
    expect(row?.checkpointOwner ?? null).toBeNull();
    // worker-a's renewals go on (the withdrawal leaves the counter alone).
    await eventually(
      'worker-a to renew the lease after the withdrawal',
      async () =>
        ((await store.getLease(key))?.leaseCounter ?? 0) > (row?.leaseCounter ?? 0) || undefined,
      10_000,
      100,
    );
    expect(a.renewer.holds(key)).toBe(true);
  });

  it('an owner that stopped reading for a handoff withdrawn meanwhile takes the lease again', async () => {
    const table = uniqueName('owner-index');
    const { a, b, key } = await askedForOne(table);
    await noticedHandoff(a, key);
    await b.coordinator.stop();
    await b.coordinator.releaseAll();
    // What the shard loop does once it stopped for the handoff (app: the handoff listener).
    await a.coordinator.release(key);
    await eventually(
      'worker-a to take the lease again',
      () => Promise.resolve(a.renewer.holds(key) || undefined),
      10_000,
      50,
    );
    expect(a.acquired.filter((taken) => taken === key)).toHaveLength(2);
    expect(await new LeaseStore(test.clients.dynamo, table).getLease(key)).toMatchObject({
      leaseOwner: 'worker-a',
    });
  });

  it('a lease handed over to a worker that stops before taking it goes to a live worker', async () => {
    const table = uniqueName('owner-index');
    const { a, b, key } = await askedForOne(table);
    await noticedHandoff(a, key);
    // worker-b is stopping: it takes nothing more; worker-a then finishes the handoff.
    await b.coordinator.stop();
    await a.coordinator.release(key);
    const store = new LeaseStore(test.clients.dynamo, table);
    expect(await store.getLease(key)).toMatchObject({ leaseOwner: 'worker-b' });
    expect(b.renewer.holds(key)).toBe(false);
    await b.coordinator.releaseAll();
    await eventually(
      'worker-a to take the lease passed on to it',
      () => Promise.resolve(a.renewer.holds(key) || undefined),
      10_000,
      50,
    );
    expect(await store.getLease(key)).toMatchObject({ leaseOwner: 'worker-a' });
  });

  it('a crashed worker’s leases are taken once expired, at the default take interval (2 x failover)', async () => {
    const table = uniqueName('owner-index');
    const seed = new LeaseStore(test.clients.dynamo, table);
    await seed.ensureTable();
    for (const [n, owner] of ['worker-a', 'worker-b'].entries())
      await seed.createLeaseIfAbsent(lease(`shardId-${n}`, owner));
    const a = await startWorker(table, 'worker-a', 2 * FAILOVER_MS);
    const b = await startWorker(table, 'worker-b', 2 * FAILOVER_MS);
    expect(b.renewer.holds('shardId-1')).toBe(true);
    // kill -9 of worker-b: it stops renewing and releases nothing.
    await b.coordinator.stop();
    b.renewer.stop();
    await eventually(
      'worker-a to take the expired lease',
      () => Promise.resolve(a.renewer.holds('shardId-1') ? true : undefined),
      60_000,
      100,
    );
    expect(await seed.getLease('shardId-1')).toMatchObject({ leaseOwner: 'worker-a' });
  });

  it('a table found without the index still works: the claim pass scans, and a release is taken', async () => {
    const table = uniqueName('no-index');
    await test.clients.dynamo.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const [a, b] = await twoWorkers(table);
    const counter = proxy;
    if (!counter) throw new Error('no proxy');
    const { Table } = await test.clients.dynamo.send(
      new DescribeTableCommand({ TableName: table }),
    );
    expect(Table?.GlobalSecondaryIndexes).toBeUndefined(); // used as it is
    await a.coordinator.stop();
    await a.coordinator.release('shardId-1');
    await eventually(
      'worker-b to take the lease released to it',
      () => Promise.resolve(b.renewer.holds('shardId-1') ? true : undefined),
      20_000,
      50,
    );
    expect(counter.callCount('Query')).toBe(0);
    expect(counter.callCount('Scan')).toBeGreaterThan(0);
  });
});
