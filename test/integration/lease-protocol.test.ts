import { GetItemCommand, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { LeaseLostError } from '../../src/core/errors.js';
import { createStream, putAll } from '../../src/demo/producer.js';
import type { Lease } from '../../src/leases/lease.js';
import { LeaseRenewer } from '../../src/leases/lease-renewer.js';
import { LeaseStore, isConditionFailure } from '../../src/leases/lease-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { numberedRecord } from '../support/records.js';
import { testRelayConfig, type ArchivedLine } from '../support/relay-config.js';
import { runCli, startRelayProcess, writeConfig } from '../support/relay-process.js';
import { readJsonLines } from '../support/s3-reader.js';
import { createBucket, eventually, useTestStack, uniqueName } from '../support/stack.js';
import { leaseFixture } from '../support/lease-fixture.js';

const silent = createLogger('silent');

function freshLease(leaseKey: string, overrides: Partial<Lease> = {}): Lease {
  return leaseFixture(leaseKey, null, { leaseCounter: 0, ...overrides });
}

describe('the lease protocol on a real DynamoDB (dynalite)', () => {
  const test = useTestStack();

  async function newTable(): Promise<LeaseStore> {
    const store = new LeaseStore(test.clients.dynamo, uniqueName('race-leases'));
    await store.ensureTable();
    return store;
  }

  async function leaseOf(store: LeaseStore, shardId: string): Promise<Lease> {
    const lease = (await store.listLeases()).find((l) => l.leaseKey === shardId);
    if (!lease) throw new Error(`no lease ${shardId}`);
    return lease;
  }

  it('two workers race to take the same lease: exactly one wins, every time', async () => {
    const store = await newTable();
    for (let round = 0; round < 20; round += 1) {
      const shardId = `shardId-${String(round).padStart(12, '0')}`;
      await store.createLeaseIfAbsent(freshLease(shardId, { leaseOwner: 'dead', leaseCounter: 5 }));
      const seen = await leaseOf(store, shardId);
      const results = await Promise.allSettled([
        store.take(seen, 'worker-a'),
        store.take(seen, 'worker-b'),
      ]);
      const winners = results.filter((r) => r.status === 'fulfilled');
      const losers = results.filter((r) => r.status === 'rejected');
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      expect(isConditionFailure((losers[0] as PromiseRejectedResult).reason)).toBe(true);
      const after = await leaseOf(store, shardId);
      expect(after.leaseCounter).toBe(6);
      expect(after.leaseOwner).toBe(results[0]?.status === 'fulfilled' ? 'worker-a' : 'worker-b');
    }
  });

  it('the loser of a steal can never move the checkpoint: its write is rejected and it stops', async () => {
    const store = await newTable();
    const shardId = 'shardId-000000000000';
    await store.createLeaseIfAbsent(freshLease(shardId));
    const loser = new LeaseRenewer(
      store,
      { workerId: 'worker-a', renewIntervalMs: 60_000, failoverMs: 10_000 },
      silent,
    );
    const lost: string[] = [];
    loser.onLost((id) => lost.push(id));
    loser.add(shardId, await store.take(await leaseOf(store, shardId), 'worker-a'));
    await loser.checkpoint(shardId, { sequenceNumber: '100', subSequenceNumber: 0 });

    // worker-b steals it (as a take pass would, with the counter it last saw).
    const winnerCounter = await store.take(await leaseOf(store, shardId), 'worker-b');
    await store.checkpoint(shardId, 'worker-b', winnerCounter, {
      sequenceNumber: '200',
      subSequenceNumber: 0,
    });

    await expect(
      loser.checkpoint(shardId, { sequenceNumber: '150', subSequenceNumber: 0 }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(lost).toEqual([shardId]);
    expect(loser.holds(shardId)).toBe(false);
    // Once lost, it does not even try again.
    await expect(
      loser.checkpoint(shardId, { sequenceNumber: '160', subSequenceNumber: 0 }),
    ).rejects.toBeInstanceOf(LeaseLostError);
    const after = await leaseOf(store, shardId);
    expect(after.leaseOwner).toBe('worker-b');
    expect(after.checkpoint).toEqual({ sequenceNumber: '200', subSequenceNumber: 0 });
  });

  it('a graceful handoff writes the row as KCL 3 does; the owner renews and checkpoints until it hands over', async () => {
    const store = await newTable();
    const shardId = 'shardId-000000000000';
    await store.createLeaseIfAbsent(freshLease(shardId));
    const owner = new LeaseRenewer(
      store,
      { workerId: 'worker-a', renewIntervalMs: 60_000, failoverMs: 10_000 },
      silent,
    );
    const asked: string[] = [];
    const lost: string[] = [];
    owner.onHandoff((id, next) => asked.push(`${id} -> ${next}`));
    owner.onLost((id) => lost.push(id));
    owner.add(shardId, await store.take(await leaseOf(store, shardId), 'worker-a'));

    const seen = await leaseOf(store, shardId);
    await store.requestHandoff(seen, 'worker-b');
    const requested = await leaseOf(store, shardId);
    expect(requested.leaseOwner).toBe('worker-b');
    expect(requested.checkpointOwner).toBe('worker-a');
    expect(requested.leaseCounter).toBe(seen.leaseCounter); // the owner's renewals go on
    // A second handoff cannot start while one is in progress.
    await expect(store.requestHandoff(requested, 'worker-c')).rejects.toSatisfy(isConditionFailure);

    await owner.renewAll();
    await eventually('the owner to hear of it', async () => (asked.length ? true : undefined));
    expect(asked).toEqual([`${shardId} -> worker-b`]);
    await owner.checkpoint(shardId, { sequenceNumber: '300', subSequenceNumber: 0 });
    await owner.release(shardId);
    expect(lost).toEqual([]);
    const handed = await leaseOf(store, shardId);
    expect(handed.leaseOwner).toBe('worker-b');
    expect(handed.checkpointOwner).toBeNull();
    expect(handed.checkpoint).toEqual({ sequenceNumber: '300', subSequenceNumber: 0 });
    expect(handed.leaseCounter).toBe(seen.leaseCounter + 3);
  });

  it('a handoff request lands though the owner renewed after the asker read the lease (conditional on the owner, as KCL 3, not the counter)', async () => {
    const store = await newTable();
    const shardId = 'shardId-000000000000';
    await store.createLeaseIfAbsent(freshLease(shardId));
    const counter = await store.take(await leaseOf(store, shardId), 'worker-a');
    // The asker's scan read the lease; the owner renews before the request is sent (a scan
    // of a large table takes long enough for most leases of a busy owner to move).
    const seen = await leaseOf(store, shardId);
    await store.renew(shardId, 'worker-a', counter);
    await store.requestHandoff(seen, 'worker-b');
    const requested = await leaseOf(store, shardId);
    expect(requested).toMatchObject({
      leaseOwner: 'worker-b',
      checkpointOwner: 'worker-a',
      leaseCounter: counter + 1,
    });
    // Still refused when the owner changed meanwhile, or a handoff is in progress.
    await expect(store.requestHandoff(seen, 'worker-c')).rejects.toSatisfy(isConditionFailure);
    await expect(store.requestHandoff(requested, 'worker-c')).rejects.toSatisfy(isConditionFailure);
  });

  it('a LATEST lease pinned at its start reads back as AT_TIMESTAMP with that time; the first checkpoint clears the time', async () => {
    const store = await newTable();
    const shardId = 'shardId-000000000000';
    await store.createLeaseIfAbsent(
      freshLease(shardId, { leaseOwner: 'worker-a', checkpoint: 'LATEST' }),
    );
    const startedAt = new Date('2026-12-06T08:00:00.000Z');
    await store.checkpoint(shardId, 'worker-a', 0, { atTimestamp: startedAt });
    const pinned = await leaseOf(store, shardId);
    expect(pinned.checkpoint).toBe('AT_TIMESTAMP');
    expect(pinned.checkpointTimestamp).toBe(startedAt.toISOString());
    expect(pinned.leaseCounter).toBe(1);
    await store.checkpoint(shardId, 'worker-a', 1, { sequenceNumber: '7', subSequenceNumber: 0 });
    const checkpointed = await leaseOf(store, shardId);
    expect(checkpointed.checkpoint).toEqual({ sequenceNumber: '7', subSequenceNumber: 0 });
    expect(checkpointed.checkpointTimestamp).toBeNull();
  });

  it('a checkpoint racing a steal: exactly one of the two writes lands, every time', async () => {
    const store = await newTable();
    for (let round = 0; round < 20; round += 1) {
      const shardId = `shardId-${String(round).padStart(12, '0')}`;
      await store.createLeaseIfAbsent(freshLease(shardId));
      const counter = await store.take(await leaseOf(store, shardId), 'worker-a');
      const seenBySteal = await leaseOf(store, shardId);
      const results = await Promise.allSettled([
        store.checkpoint(shardId, 'worker-a', counter, {
          sequenceNumber: String(1000 + round),
          subSequenceNumber: 0,
        }),
        store.take(seenBySteal, 'worker-b'),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const after = await leaseOf(store, shardId);
      if (results[0].status === 'fulfilled') {
        expect(after.leaseOwner).toBe('worker-a');
        expect(after.checkpoint).toEqual({
          sequenceNumber: String(1000 + round),
          subSequenceNumber: 0,
        });
      } else {
        expect(after.leaseOwner).toBe('worker-b');
        expect(after.checkpoint).toBe('TRIM_HORIZON');
      }
    }
  });

  describe('a lease table written by the Java KCL', () => {
    const s = (value: string): AttributeValue => ({ S: value });
    const n = (value: number): AttributeValue => ({ N: String(value) });

    it('is read and continued: resumes after the KCL checkpoint, keeps KCL types and attributes', async () => {
      const names = {
        stream: uniqueName('kcl'),
        table: uniqueName('kcl-leases'),
        bucket: uniqueName('kcl-archive'),
      };
      await createStream(test.clients.kinesis, names.stream, 2);
      await createBucket(test.clients, names.bucket);
      const records = Array.from({ length: 400 }, (_, i) => numberedRecord(i));
      const put = await putAll(test.clients.kinesis, names.stream, records);
      const shardIds = [...new Set(put.map((r) => r.shardId))].sort();
      expect(shardIds).toHaveLength(2);
      const [first, second] = shardIds as [string, string];
      const onFirst = put.map((r, i) => ({ ...r, n: i })).filter((r) => r.shardId === first);
      const checkpointed = onFirst[Math.floor(onFirst.length / 2)];
      if (!checkpointed) throw new Error('no records on the first shard');

      // The KCL's own rows, attribute for attribute as KCL 2.x/3.x write them: an owner
      // that is gone (a stopped KCL application), a checkpoint mid-shard, a pending
      // two-phase checkpoint on the other shard, and attributes the relay does not use.
      const store = new LeaseStore(test.clients.dynamo, names.table);
      await store.ensureTable();
      const kclRow = (shardId: string, extra: Record<string, AttributeValue>) => ({
        leaseKey: s(shardId),
        leaseOwner: s('kcl-worker-7f3a:i-0abc'),
        leaseCounter: n(4242),
        ownerSwitchesSinceCheckpoint: n(0),
        startingHashKey: s('0'),
        endingHashKey: s('340282366920938463463374607431768211455'),
        throughputKBps: n(12.5),
        ...extra,
      });
      await test.clients.dynamo.send(
        new PutItemCommand({
          TableName: names.table,
          Item: kclRow(first, {
            checkpoint: s(checkpointed.sequenceNumber),
            checkpointSubSequenceNumber: n(0),
          }),
        }),
      );
      await test.clients.dynamo.send(
        new PutItemCommand({
          TableName: names.table,
          Item: kclRow(second, {
            checkpoint: s('TRIM_HORIZON'),
            checkpointSubSequenceNumber: n(0),
            pendingCheckpoint: s('49000000000000000000000000000000000000000000000000000000'),
            pendingCheckpointSubSequenceNumber: n(0),
          }),
        }),
      );

      const configPath = writeConfig(
        testRelayConfig(names, {
          leases: { failoverMs: 2000, takeIntervalMs: 500, shardSyncIntervalMs: 5000 },
        }),
      );
      // The operator's view of the KCL's table: owner, checkpoint, and how far behind it is.
      const before = await runCli(['leases', '--config', configPath]);
      expect(before.code).toBe(0);
      const rowOf = (output: string, shardId: string) =>
        output.split('\n').find((line) => line.startsWith(shardId)) ?? '';
      expect(before.output).toMatch(/^SHARD\s+OWNER\s+COUNTER\s+CHECKPOINT\s+LAG\s+PARENTS/m);
      expect(rowOf(before.output, first)).toMatch(
        new RegExp(
          `kcl-worker-7f3a:i-0abc\\s+4242\\s+${checkpointed.sequenceNumber}/0\\s+\\d+s\\s`,
        ),
      );
      expect(rowOf(before.output, second)).toMatch(/TRIM_HORIZON\s+\d+s\s/);

      const relay = startRelayProcess(['run', '--config', configPath]);
      try {
        const expected = new Set(
          put.map((_, i) => i).filter((i) => put[i]?.shardId === second || i > checkpointed.n),
        );
        const lines = await eventually(
          'every record after the KCL checkpoint delivered',
          async () => {
            const delivered = await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket);
            const seen = new Set(delivered.map((l) => l.original.n));
            return [...expected].every((i) => seen.has(i)) ? delivered : undefined;
          },
          90_000,
          1000,
        );
        // Nothing at or before the KCL's checkpoint is processed again.
        const replayed = lines.filter(
          (l) => l.kinesis.shard_id === first && !expected.has(l.original.n),
        );
        expect(replayed).toEqual([]);
        const lastOnFirst = onFirst[onFirst.length - 1];
        await eventually(
          'the relay to checkpoint the first shard at its last record',
          async () => {
            const lease = (await store.listLeases()).find((l) => l.leaseKey === first);
            return lease?.checkpoint !== 'TRIM_HORIZON' &&
              typeof lease?.checkpoint === 'object' &&
              lease.checkpoint.sequenceNumber === lastOnFirst?.sequenceNumber
              ? true
              : undefined;
          },
          30_000,
          250,
        );
      } finally {
        relay.child.kill('SIGTERM');
      }
      expect(await relay.exited).toBe(0);
      const after = await runCli(['leases', '--config', configPath]);
      // Caught up: nothing waits after either checkpoint.
      for (const shardId of shardIds)
        expect(rowOf(after.output, shardId)).toMatch(/\s-\s+\d+\s+\d+\/0\s+0s\s/);

      // Readable by the KCL again: its attribute names and DynamoDB types, its unknown
      // attributes untouched, the pending checkpoint cleared by a real one, and the lease
      // released (no owner) so a KCL worker takes it at once.
      for (const shardId of shardIds) {
        const { Item } = await test.clients.dynamo.send(
          new GetItemCommand({
            TableName: names.table,
            Key: { leaseKey: s(shardId) },
            ConsistentRead: true,
          }),
        );
        expect(Item?.leaseOwner).toBeUndefined();
        expect(Number(Item?.leaseCounter?.N)).toBeGreaterThan(4242);
        expect(Item?.checkpoint?.S).toMatch(/^\d+$/);
        expect(Item?.checkpointSubSequenceNumber?.N).toBe('0');
        expect(Item?.ownerSwitchesSinceCheckpoint?.N).toBe('0');
        expect(Item?.throughputKBps).toEqual(n(12.5));
        expect(Item?.startingHashKey).toEqual(s('0'));
        expect(Item?.pendingCheckpoint).toBeUndefined();
        expect(Item?.pendingCheckpointSubSequenceNumber).toBeUndefined();
        expect(Object.keys(Item ?? {}).sort()).toEqual(
          [
            'checkpoint',
            'checkpointSubSequenceNumber',
            'endingHashKey',
            'leaseCounter',
            'leaseKey',
            'ownerSwitchesSinceCheckpoint',
            'startingHashKey',
            'throughputKBps',
          ].sort(),
        );
      }
    });
  });

  describe('kinesis-relay checkpoint set', () => {
    const checkpointSet = (configPath: string, shardId: string, to: string, ...flags: string[]) =>
      runCli([
        'checkpoint',
        'set',
        '--config',
        configPath,
        '--shard',
        shardId,
        '--to',
        to,
        ...flags,
      ]);

    async function setUp() {
      const names = {
        stream: uniqueName('cpset'),
        table: uniqueName('cpset-leases'),
        bucket: uniqueName('cpset-archive'),
      };
      // A real stream: the command refuses a sequence number the shard does not hold.
      await createStream(test.clients.kinesis, names.stream, 1);
      const put = await putAll(
        test.clients.kinesis,
        names.stream,
        Array.from({ length: 5 }, (_, i) => numberedRecord(i)),
      );
      const sequenceNumber = put[2]?.sequenceNumber ?? '';
      const store = new LeaseStore(test.clients.dynamo, names.table);
      await store.ensureTable();
      const shardId = put[2]?.shardId ?? 'shardId-000000000000';
      await store.createLeaseIfAbsent(freshLease(shardId));
      const config = testRelayConfig(names, {
        leases: { failoverMs: 1500, takeIntervalMs: 500, shardSyncIntervalMs: 5000 },
      });
      return { store, shardId, sequenceNumber, configPath: writeConfig(config) };
    }

    it('refuses while a live owner renews the lease; --force moves it and the owner loses it', async () => {
      const { store, shardId, sequenceNumber, configPath } = await setUp();
      const owner = new LeaseRenewer(
        store,
        { workerId: 'live-worker', renewIntervalMs: 200, failoverMs: 1500 },
        silent,
      );
      const lost: string[] = [];
      owner.onLost((id) => lost.push(id));
      owner.add(shardId, await store.take(await leaseOf(store, shardId), 'live-worker'));
      owner.start();
      try {
        const refused = await checkpointSet(configPath, shardId, `${sequenceNumber}/3`);
        expect(refused.code).toBe(1);
        expect(refused.output).toContain('refused: live-worker is alive');
        expect((await leaseOf(store, shardId)).checkpoint).toBe('TRIM_HORIZON');

        const forced = await checkpointSet(configPath, shardId, `${sequenceNumber}/3`, '--force');
        expect(forced.code).toBe(0);
        expect((await leaseOf(store, shardId)).checkpoint).toEqual({
          sequenceNumber,
          subSequenceNumber: 3,
        });
        await eventually(
          'the owner to notice',
          async () => (lost.length ? true : undefined),
          5000,
          50,
        );
        expect(lost).toEqual([shardId]);
      } finally {
        owner.stop();
      }
    });

    it('moves the checkpoint of a dead owner after watching it, to a time or a sentinel', async () => {
      const { store, shardId, configPath } = await setUp();
      await store.take(await leaseOf(store, shardId), 'dead-worker');
      const atTime = await checkpointSet(configPath, shardId, '2026-11-01T12:00:00Z');
      expect(atTime.code).toBe(0);
      const lease = await leaseOf(store, shardId);
      expect(lease.checkpoint).toBe('AT_TIMESTAMP');
      expect(lease.checkpointTimestamp).toBe('2026-11-01T12:00:00.000Z');

      const latest = await checkpointSet(configPath, shardId, 'LATEST', '--force');
      expect(latest.code).toBe(0);
      const after = await leaseOf(store, shardId);
      expect(after.checkpoint).toBe('LATEST');
      expect(after.checkpointTimestamp).toBeNull();
    });

    it('rejects a bad target or an unknown shard with exit 2', async () => {
      const { shardId, configPath } = await setUp();
      const bad = await checkpointSet(configPath, shardId, 'yesterday');
      expect(bad.code).toBe(2);
      expect(bad.output).toContain("--to: 'yesterday'");
      const unknown = await checkpointSet(configPath, 'shardId-000000000099', 'TRIM_HORIZON');
      expect(unknown.code).toBe(2);
      expect(unknown.output).toContain('no lease for shard shardId-000000000099');
    });
  });
});
