import { describe, expect, it } from 'vitest';
import { createStream } from '../../../src/demo/producer.js';
import { LeaseStore } from '../../../src/leases/lease-store.js';
import { createBucket, eventually, uniqueName } from '../../support/stack.js';
import { useChaosStack } from '../support/chaos-stack.js';
import { LeaseWatcher } from '../support/lease-watcher.js';
import { RateProducer } from '../support/rate-producer.js';
import { reportScenario } from '../support/report.js';
import { busiestWindowPerShard, shardsOverBound, tally } from '../support/tally.js';
import {
  chaosConfig,
  startWorker,
  stopWorkers,
  waitForArchive,
  type Worker,
} from '../support/workers.js';

const SHARDS = 8;
const FAILOVER_MS = 3000;
const TAKE_INTERVAL_MS = 1000;
const CHECKPOINT_INTERVAL_MS = 1000;
/** The archive's buffer age (workers.ts): acknowledged trails read by at most this. */
const SINK_MAX_AGE_MS = 300;
const OWNED_WITHIN_MS = FAILOVER_MS + TAKE_INTERVAL_MS;

/*
 * Scaling while records flow (lifion-kinesis #652, #781: records lost going from one
 * consumer to two), then a rolling restart of three workers, as a deployment does.
 * Nothing lost; duplicates bounded (a lease that moves may re-deliver at most what its
 * loser read after its last checkpoint); after each worker leaves, every shard is owned
 * again within failoverMs + one take interval.
 */
describe('chaos: scale 1 → 3 → 1 and a rolling restart of 3 workers', () => {
  const stack = useChaosStack(653);

  it('nothing lost, duplicates bounded, every shard owned within failoverMs + one take interval after each departure', async () => {
    const names = {
      stream: uniqueName('chaos-scale'),
      table: uniqueName('chaos-scale-leases'),
      bucket: uniqueName('chaos-scale-archive'),
    };
    await createStream(stack.clients.kinesis, names.stream, SHARDS);
    await createBucket(stack.clients, names.bucket);
    const store = new LeaseStore(stack.clients.dynamo, names.table);
    const configPath = chaosConfig(names, {
      failoverMs: FAILOVER_MS,
      takeIntervalMs: TAKE_INTERVAL_MS,
      checkpointIntervalMs: CHECKPOINT_INTERVAL_MS,
    });
    const all: Worker[] = [];
    const live = new Map<string, Worker>();
    const start = async () => {
      const worker = await startWorker(configPath, stack.relayEnv());
      all.push(worker);
      live.set(worker.id, worker);
      return worker;
    };
    const watcher = new LeaseWatcher(store);
    const producer = new RateProducer(stack.clients.kinesis, names.stream, 100);
    /** Each departure: how long until every shard was owned by a live worker again. */
    const gaps: { step: string; ms: number | null }[] = [];
    const leave = async (worker: Worker, step: string) => {
      worker.relay.child.kill('SIGTERM');
      await worker.relay.exited;
      const exitedAt = Date.now();
      live.delete(worker.id);
      gaps.push({ step, ms: await watcher.allOwnedBy(new Set(live.keys()), SHARDS, exitedAt) });
    };
    const balanced = (what: string) =>
      eventually(
        what,
        async () => {
          const leases = await watcher.poll();
          const counts = [...live.keys()].map(
            (id) => leases.filter((l) => l.leaseOwner === id).length,
          );
          const even = Math.floor(SHARDS / live.size);
          return leases.length === SHARDS &&
            counts.reduce((a, b) => a + b, 0) === SHARDS &&
            counts.every((c) => c >= even && c <= even + 1)
            ? true
            : undefined;
        },
        90_000,
        250,
      );
    try {
      await start();
      await balanced('one worker to hold every lease');
      watcher.start();
      producer.start();
      await new Promise((resolve) => setTimeout(resolve, 3000));

      // 1 → 3
      const second = await start();
      const third = await start();
      await balanced('three workers to share the leases');
      // 3 → 1
      await leave(second, 'scale 3→2');
      await leave(third, 'scale 2→1');
      await balanced('the first worker to hold every lease again');

      // A rolling restart of three workers: each one stops, then its replacement starts.
      await start();
      await start();
      await balanced('three workers to share the leases');
      const generation = [...live.values()];
      for (const [index, worker] of generation.entries()) {
        await leave(worker, `rolling restart ${index + 1}/3`);
        await start();
        await balanced(`the replacement ${index + 1}/3 to take its share`);
      }
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const put = await producer.stop();
      const producedUntil = Date.now();
      const { delivered, completeAt } = await waitForArchive(
        stack.clients.s3,
        names.bucket,
        put,
        120_000,
      );
      await watcher.poll();
      watcher.stop();

      const counts = tally(put, delivered);
      const window = busiestWindowPerShard(put, CHECKPOINT_INTERVAL_MS + SINK_MAX_AGE_MS);
      const bound = new Map(
        [...window].map(([shard, n]) => [shard, n * (watcher.moves.get(shard) ?? 0)]),
      );
      const over = shardsOverBound(counts.duplicatesPerShard, bound);
      const slow = gaps.filter((g) => g.ms === null || g.ms > OWNED_WITHIN_MS);
      const pass = counts.lost === 0 && over.length === 0 && slow.length === 0;
      reportScenario('05-scale-and-rolling-restart', {
        scenario: 'scale 1→3→1 and a rolling restart of 3 workers (SIGTERM) under load; 8 shards',
        put: counts.put,
        delivered: counts.delivered,
        duplicates: counts.duplicates,
        lost: counts.lost,
        recoveryMs: Math.max(...gaps.map((g) => g.ms ?? Number.NaN)),
        dynamoRetried: stack.dynamoProxy.faultCount(),
        kinesisRetried: stack.kinesisProxy.faultCount(),
        pass,
        notes:
          `recovery = slowest re-ownership after a departure (bound ${OWNED_WITHIN_MS} ms): ` +
          gaps.map((g) => `${g.step} ${g.ms ?? 'never'} ms`).join(', ') +
          `; ${watcher.totalMoves} lease moves; duplicate bound = moves × busiest ${CHECKPOINT_INTERVAL_MS + SINK_MAX_AGE_MS} ms per shard, ${over.length} shards over it` +
          `; all delivered ${completeAt === null ? 'never' : `${((completeAt - producedUntil) / 1000).toFixed(1)} s after the last put`}`,
      });

      expect(counts.lost, `lost records, e.g. ${counts.lostSample.join(', ')}`).toBe(0);
      expect(over, 'shards over the duplicate bound').toEqual([]);
      expect(slow, `re-ownership slower than ${OWNED_WITHIN_MS} ms`).toEqual([]);
    } finally {
      watcher.stop();
      await producer.stop().catch(() => undefined);
      await stopWorkers(all);
    }
  });
});
