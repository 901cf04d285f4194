import { describe, expect, it } from 'vitest';
import { createStream } from '../../../src/demo/producer.js';
import { LeaseStore } from '../../../src/leases/lease-store.js';
import { createBucket, eventually, uniqueName } from '../../support/stack.js';
import { useChaosStack } from '../support/chaos-stack.js';
import { RateProducer } from '../support/rate-producer.js';
import { reportScenario } from '../support/report.js';
import { busiestWindowPerShard, shardsOverBound, tally } from '../support/tally.js';
import {
  chaosConfig,
  countLogLines,
  startWorker,
  stopWorkers,
  waitForArchive,
  type Worker,
} from '../support/workers.js';

const SHARDS = 8;
const FAILOVER_MS = 3000;
const TAKE_INTERVAL_MS = 1000;
const CHECKPOINT_INTERVAL_MS = 2000;
const FAULT_MS = 30_000;
const RECORDS_PER_SECOND = 100;
const WRITES = /^DynamoDB_20120810\.(UpdateItem|PutItem|DeleteItem|BatchWriteItem)$/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/*
 * The first incident: two workers, one lease table, DynamoDB throttling every
 * write for 30 s, then answering 5xx to everything for 30 s, while records flow. A slow
 * DynamoDB should cost a pause, not a re-read: nothing lost, every shard owned afterwards,
 * and no shard re-delivers more than one checkpoint interval's worth of its records.
 */
describe('chaos: DynamoDB throttled, then failing', () => {
  const stack = useChaosStack(18);

  it('2 workers, 8 shards: DynamoDB throttled 30 s then 5xx 30 s loses nothing, leaves no shard unowned, duplicates ≤ one checkpoint interval per shard', async () => {
    const names = {
      stream: uniqueName('chaos-ddb'),
      table: uniqueName('chaos-ddb-leases'),
      bucket: uniqueName('chaos-ddb-archive'),
    };
    await createStream(stack.clients.kinesis, names.stream, SHARDS);
    await createBucket(stack.clients, names.bucket);
    const store = new LeaseStore(stack.clients.dynamo, names.table);
    const configPath = chaosConfig(names, {
      failoverMs: FAILOVER_MS,
      takeIntervalMs: TAKE_INTERVAL_MS,
      checkpointIntervalMs: CHECKPOINT_INTERVAL_MS,
    });
    const workers: Worker[] = [];
    const producer = new RateProducer(stack.clients.kinesis, names.stream, RECORDS_PER_SECOND);
    try {
      workers.push(await startWorker(configPath, stack.relayEnv()));
      workers.push(await startWorker(configPath, stack.relayEnv()));
      const ids = new Set(workers.map((w) => w.id));
      const ownedByBoth = async () => {
        const leases = await store.listLeases();
        const owners = leases.map((l) => l.leaseOwner);
        return leases.length === SHARDS &&
          owners.every((o) => o !== null && ids.has(o)) &&
          workers.every((w) => owners.includes(w.id))
          ? true
          : undefined;
      };
      await eventually('both workers to hold leases', ownedByBoth, 60_000, 250);
      // Let the balancing settle (a steal re-reads its loser's tail, not this test's subject).
      await sleep(2 * FAILOVER_MS);
      const leaseLostBefore = countLogLines(workers, '"lease lost"');
      producer.start();
      await sleep(5000);

      stack.dynamoProxy.inject({
        match: WRITES,
        fault: { kind: 'throttle', error: 'ProvisionedThroughputExceededException' },
        forMs: FAULT_MS,
      });
      await sleep(FAULT_MS);
      stack.dynamoProxy.inject({
        match: /^DynamoDB_/,
        fault: { kind: 'status', status: 500 },
        probability: 0.5,
        forMs: FAULT_MS,
      });
      stack.dynamoProxy.inject({
        match: /^DynamoDB_/,
        fault: { kind: 'status', status: 503 },
        forMs: FAULT_MS,
      });
      await sleep(FAULT_MS);
      stack.clearFaults();
      const healedAt = Date.now();
      await sleep(5000);
      const put = await producer.stop();

      const { delivered, completeAt } = await waitForArchive(
        stack.clients.s3,
        names.bucket,
        put,
        120_000,
      );
      // Afterwards every shard is owned by a live worker that keeps renewing it.
      const owned = await eventually(
        'every shard owned by a live worker',
        async () => ((await allOwned(store, ids)) ? true : undefined),
        30_000,
        250,
      ).then(
        () => true,
        () => false,
      );
      const leases = await store.listLeases();
      const unowned = leases.filter((l) => l.leaseOwner === null || !ids.has(l.leaseOwner));
      const counts = tally(put, delivered);
      const bound = busiestWindowPerShard(put, CHECKPOINT_INTERVAL_MS);
      const over = shardsOverBound(counts.duplicatesPerShard, bound);
      const leaseLost = countLogLines(workers, '"lease lost"') - leaseLostBefore;
      const pass = counts.lost === 0 && owned && unowned.length === 0 && over.length === 0;
      reportScenario('01-dynamodb-throttle-5xx', {
        scenario: 'DynamoDB throttled 30 s (writes) + 5xx 30 s; 2 workers, 8 shards',
        put: counts.put,
        delivered: counts.delivered,
        duplicates: counts.duplicates,
        lost: counts.lost,
        recoveryMs: completeAt === null ? null : completeAt - healedAt,
        dynamoRetried: stack.dynamoProxy.faultCount(),
        kinesisRetried: stack.kinesisProxy.faultCount(),
        s3Retried: stack.s3Proxy.faultCount(),
        pass,
        notes:
          `${((100 * counts.duplicates) / Math.max(1, counts.put)).toFixed(1)} % duplicated; ` +
          `bound per shard ${Math.max(...bound.values())} (busiest ${CHECKPOINT_INTERVAL_MS} ms); ` +
          `${over.length} shards over it; ${leaseLost} "lease lost"; ${unowned.length} unowned after` +
          (counts.lost > 0 ? `; lost e.g. ${counts.lostSample.join(',')}` : ''),
      });

      expect(counts.lost, `lost records, e.g. ${counts.lostSample.join(', ')}`).toBe(0);
      expect(unowned.map((l) => l.leaseKey)).toEqual([]);
      expect(over, 'shards re-delivering more than one checkpoint interval of records').toEqual([]);
    } finally {
      await producer.stop().catch(() => undefined);
      await stopWorkers(workers);
    }
  });
});

async function allOwned(store: LeaseStore, ids: ReadonlySet<string>): Promise<boolean> {
  const leases = await store.listLeases();
  return leases.length === SHARDS && leases.every((l) => l.leaseOwner && ids.has(l.leaseOwner));
}
