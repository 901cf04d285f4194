import { describe, expect, it } from 'vitest';
import {
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  MergeShardsCommand,
  SplitShardCommand,
  type KinesisClient,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { isSentinel } from '../../../src/core/checkpoint.js';
import { createStream } from '../../../src/demo/producer.js';
import { LeaseStore } from '../../../src/leases/lease-store.js';
import { createBucket, eventually, uniqueName } from '../../support/stack.js';
import { useChaosStack } from '../support/chaos-stack.js';
import { RateProducer } from '../support/rate-producer.js';
import { reportScenario } from '../support/report.js';
import { tally } from '../support/tally.js';
import {
  archived,
  chaosConfig,
  startWorker,
  stopWorkers,
  waitForArchive,
  type Worker,
} from '../support/workers.js';

const RESHARD_EVERY_MS = 20_000;
const RESHARD_FOR_MS = 3 * 60_000;
const SHARD_SYNC_MS = 5000;

async function allShards(kinesis: KinesisClient, stream: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const page = await kinesis.send(
      new ListShardsCommand(token ? { NextToken: token } : { StreamName: stream }),
    );
    shards.push(...(page.Shards ?? []));
    token = page.NextToken;
  } while (token);
  return shards;
}

const isOpen = (shard: Shard) => !shard.SequenceNumberRange?.EndingSequenceNumber;
const startOf = (shard: Shard) => BigInt(shard.HashKeyRange?.StartingHashKey ?? '0');
const endOf = (shard: Shard) => BigInt(shard.HashKeyRange?.EndingHashKey ?? '0');

async function waitActive(kinesis: KinesisClient, stream: string): Promise<void> {
  await eventually(
    'the stream to be ACTIVE',
    async () => {
      const { StreamDescriptionSummary } = await kinesis.send(
        new DescribeStreamSummaryCommand({ StreamName: stream }),
      );
      return StreamDescriptionSummary?.StreamStatus === 'ACTIVE' ? true : undefined;
    },
    30_000,
    100,
  );
}

/** Splits the widest open shard in two, or merges the first adjacent pair of open shards. */
async function reshard(kinesis: KinesisClient, stream: string, split: boolean): Promise<string> {
  const open = (await allShards(kinesis, stream)).filter(isOpen);
  open.sort((a, b) => (startOf(a) < startOf(b) ? -1 : 1));
  if (split || open.length < 2) {
    const widest = open.reduce((a, b) => (endOf(b) - startOf(b) > endOf(a) - startOf(a) ? b : a));
    const middle = (startOf(widest) + endOf(widest)) / 2n;
    await kinesis.send(
      new SplitShardCommand({
        StreamName: stream,
        ShardToSplit: widest.ShardId,
        NewStartingHashKey: String(middle),
      }),
    );
    await waitActive(kinesis, stream);
    return `split ${widest.ShardId}`;
  }
  for (let i = 0; i + 1 < open.length; i += 1) {
    const [a, b] = [open[i], open[i + 1]];
    if (a && b && endOf(a) + 1n === startOf(b)) {
      await kinesis.send(
        new MergeShardsCommand({
          StreamName: stream,
          ShardToMerge: a.ShardId,
          AdjacentShardToMerge: b.ShardId,
        }),
      );
      await waitActive(kinesis, stream);
      return `merge ${a.ShardId}+${b.ShardId}`;
    }
  }
  return 'no adjacent pair';
}

interface LogLine {
  readonly time: number | string;
  readonly msg: string;
  readonly shardId?: string;
}

/*
 * Split and merge every 20 s for 3 minutes while records flow, as on-demand streams do
 * (spring-cloud-stream-binder-aws-kinesis #212: records lost on auto-resharding). Per
 * partition key, order is kept from parent to child; nothing is lost; the leases of
 * closed shards are cleaned up once their children have taken over (as the KCL's lease
 * cleanup does), not left to pile up for the stream's whole retention.
 */
describe('chaos: split and merge every 20 s for 3 minutes under load', () => {
  const stack = useChaosStack(212);

  it('per-key order kept, nothing lost, closed shards leases cleaned up', async () => {
    const names = {
      stream: uniqueName('chaos-reshard'),
      table: uniqueName('chaos-reshard-leases'),
      bucket: uniqueName('chaos-reshard-archive'),
    };
    await createStream(stack.clients.kinesis, names.stream, 4);
    await createBucket(stack.clients, names.bucket);
    const store = new LeaseStore(stack.clients.dynamo, names.table);
    const configPath = chaosConfig(names, {
      failoverMs: 10_000,
      takeIntervalMs: 2000,
      checkpointIntervalMs: 1000,
      overrides: {},
    });
    const workers: Worker[] = [];
    const producer = new RateProducer(stack.clients.kinesis, names.stream, 100);
    try {
      workers.push(await startWorker(configPath, stack.relayEnv()));
      workers.push(await startWorker(configPath, stack.relayEnv()));
      producer.start();
      const operations: string[] = [];
      const until = Date.now() + RESHARD_FOR_MS;
      for (let split = true; Date.now() < until; split = !split) {
        await new Promise((resolve) => setTimeout(resolve, RESHARD_EVERY_MS));
        operations.push(await reshard(stack.clients.kinesis, names.stream, split));
      }
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const put = await producer.stop();
      const producedUntil = Date.now();
      const { delivered, completeAt } = await waitForArchive(
        stack.clients.s3,
        names.bucket,
        put,
        180_000,
      );

      // Lineage depth of each shard: a key's records pass parent → child, deeper each time.
      const shards = await allShards(stack.clients.kinesis, names.stream);
      const byId = new Map(shards.map((s) => [s.ShardId ?? '', s]));
      const depth = new Map<string, number>();
      const depthOf = (id: string): number => {
        const known = depth.get(id);
        if (known !== undefined) return known;
        const shard = byId.get(id);
        const parents = [shard?.ParentShardId, shard?.AdjacentParentShardId].filter(
          (p): p is string => Boolean(p) && byId.has(p ?? ''),
        );
        const d = parents.length === 0 ? 0 : 1 + Math.max(...parents.map(depthOf));
        depth.set(id, d);
        return d;
      };
      const firstOfPosition = new Map<string, (typeof delivered)[number]>();
      for (const d of await archived(stack.clients.s3, names.bucket)) {
        firstOfPosition.set(`${d.shardId}/${d.sequenceNumber}`, d);
      }
      const byKey = new Map<number, (typeof delivered)[number][]>();
      for (const d of firstOfPosition.values()) {
        const key = d.n % 1013;
        byKey.set(key, [...(byKey.get(key) ?? []), d]);
      }
      let outOfOrderKeys = 0;
      for (const list of byKey.values()) {
        list.sort(
          (a, b) =>
            depthOf(a.shardId) - depthOf(b.shardId) ||
            (BigInt(a.sequenceNumber) < BigInt(b.sequenceNumber) ? -1 : 1),
        );
        const numbers = list.map((d) => d.n);
        if (numbers.some((n, i) => i > 0 && n < (numbers[i - 1] ?? 0))) outOfOrderKeys += 1;
      }
      // Processing order: each child started only after all its parents reached SHARD_END.
      const logs: LogLine[] = workers.flatMap((w) =>
        w.relay
          .output()
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as LogLine),
      );
      const timeOf = (msg: string, shardId: string) => {
        const line = logs.find((l) => l.msg === msg && l.shardId === shardId);
        return line ? new Date(line.time).getTime() : Number.NaN;
      };
      let childrenEarly = 0;
      for (const shard of shards) {
        const started = timeOf('shard started', shard.ShardId ?? '');
        for (const parent of [shard.ParentShardId, shard.AdjacentParentShardId]) {
          if (!parent || !byId.has(parent) || Number.isNaN(started)) continue;
          const ended = timeOf('shard reached SHARD_END', parent);
          if (Number.isNaN(ended) || started < ended) childrenEarly += 1;
        }
      }
      // Cleanup: a finished lease whose children have all made progress is no longer needed.
      const leftOver = await eventually(
        'finished leases cleaned up',
        async () => {
          const leases = await store.listLeases();
          const progressed = (id: string) => {
            const c = leases.find((l) => l.leaseKey === id)?.checkpoint;
            return c !== undefined && !isSentinel(c);
          };
          const stale = leases.filter(
            (l) =>
              l.checkpoint === 'SHARD_END' &&
              l.childShardIds.length > 0 &&
              l.childShardIds.every(progressed),
          );
          return stale.length === 0 ? 0 : undefined;
        },
        6 * SHARD_SYNC_MS,
        1000,
      ).catch(async () => {
        const leases = await store.listLeases();
        return leases.filter((l) => l.checkpoint === 'SHARD_END').length;
      });

      const counts = tally(put, delivered);
      const pass =
        counts.lost === 0 && outOfOrderKeys === 0 && childrenEarly === 0 && leftOver === 0;
      reportScenario('07-split-merge', {
        scenario: 'split/merge every 20 s for 3 min under load; 2 workers, 4 shards at start',
        put: counts.put,
        delivered: counts.delivered,
        duplicates: counts.duplicates,
        lost: counts.lost,
        recoveryMs: completeAt === null ? null : completeAt - producedUntil,
        dynamoRetried: stack.dynamoProxy.faultCount(),
        kinesisRetried: stack.kinesisProxy.faultCount(),
        pass,
        notes:
          `${operations.length} reshards (${operations.filter((o) => o.startsWith('split')).length} splits), ${shards.length} shards in all; ` +
          `${outOfOrderKeys} keys out of order; ${childrenEarly} children started before a parent's end; ` +
          `${leftOver} finished leases left after their children progressed; recovery = last put → all delivered`,
      });

      expect(counts.lost, `lost records, e.g. ${counts.lostSample.join(', ')}`).toBe(0);
      expect(outOfOrderKeys).toBe(0);
      expect(childrenEarly).toBe(0);
      expect(leftOver, 'finished leases not cleaned up').toBe(0);
    } finally {
      await producer.stop().catch(() => undefined);
      await stopWorkers(workers);
    }
  });
});
