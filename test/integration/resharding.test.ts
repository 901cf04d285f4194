import {
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  MergeShardsCommand,
  SplitShardCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { createStream } from '../../src/demo/producer.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import { ProducerLoop } from '../support/producer-loop.js';
import { testRelayConfig, type ArchivedLine } from '../support/relay-config.js';
import { startRelayProcess, writeConfig, type RelayProcess } from '../support/relay-process.js';
import { readJsonLines } from '../support/s3-reader.js';
import { createBucket, eventually, useTestStack, uniqueName } from '../support/stack.js';

async function waitActive(kinesis: KinesisClient, stream: string): Promise<void> {
  await eventually(
    `${stream} to be ACTIVE`,
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

interface LogLine {
  readonly time: string;
  readonly msg: string;
  readonly shardId?: string;
}

function logLines(relays: readonly RelayProcess[]): LogLine[] {
  return relays.flatMap((relay) =>
    relay
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine),
  );
}

describe('resharding while records flow', () => {
  const test = useTestStack();

  it('split one shard and merge two others: nothing lost, per-key order kept from parent to child', async () => {
    const names = {
      stream: uniqueName('reshard'),
      table: uniqueName('reshard-leases'),
      bucket: uniqueName('reshard-archive'),
    };
    const { kinesis } = test.clients;
    await createStream(kinesis, names.stream, 3);
    await createBucket(test.clients, names.bucket);
    const config = testRelayConfig(names, {
      leases: { failoverMs: 3000, takeIntervalMs: 1000, shardSyncIntervalMs: 1000 },
      // Whole pages on a worker thread (one S3 JSON Lines sink, no deadLetter): a parent's
      // last page, with its child shards, is the one the thread leaves to the SDK's reader.
      consumer: { idleTimeBetweenReadsMs: 200, workerThreads: 1 },
    });
    (config.sinks[0] as { buffer: object }).buffer = {
      maxRecords: 500,
      maxBytes: 1_048_576,
      maxAgeMs: 400,
    };
    const configPath = writeConfig(config);
    const parents = ((await kinesis.send(new ListShardsCommand({ StreamName: names.stream })))
      .Shards ?? []) as Array<{
      ShardId: string;
      HashKeyRange: { StartingHashKey: string; EndingHashKey: string };
    }>;
    expect(parents).toHaveLength(3);
    const [toSplit, mergeLeft, mergeRight] = parents as [
      (typeof parents)[number],
      (typeof parents)[number],
      (typeof parents)[number],
    ];

    const producer = new ProducerLoop(kinesis, names.stream).start();
    const relays = [
      startRelayProcess(['run', '--config', configPath]),
      startRelayProcess(['run', '--config', configPath]),
    ];
    const store = new LeaseStore(test.clients.dynamo, names.table);
    try {
      await eventually(
        'every parent lease held',
        async () => {
          const leases = await store.listLeases();
          return leases.length === 3 && leases.every((l) => l.leaseOwner) ? true : undefined;
        },
        60_000,
        250,
      );
      await new Promise((resolve) => setTimeout(resolve, 2000));

      const start = BigInt(toSplit.HashKeyRange.StartingHashKey);
      const end = BigInt(toSplit.HashKeyRange.EndingHashKey);
      await kinesis.send(
        new SplitShardCommand({
          StreamName: names.stream,
          ShardToSplit: toSplit.ShardId,
          NewStartingHashKey: ((start + end) / 2n).toString(),
        }),
      );
      await waitActive(kinesis, names.stream);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await kinesis.send(
        new MergeShardsCommand({
          StreamName: names.stream,
          ShardToMerge: mergeLeft.ShardId,
          AdjacentShardToMerge: mergeRight.ShardId,
        }),
      );
      await waitActive(kinesis, names.stream);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const put = await producer.stop();

      const allShards =
        (await kinesis.send(new ListShardsCommand({ StreamName: names.stream }))).Shards ?? [];
      const children = allShards.filter((s) => !parents.some((p) => p.ShardId === s.ShardId));
      expect(children).toHaveLength(3);
      // Records really went to the children after the reshard.
      const childIds = new Set(children.map((c) => c.ShardId));
      expect(put.some((r) => childIds.has(r.shardId))).toBe(true);

      const positionOf = (shardId: string, sequenceNumber: string, sub: number) =>
        `${shardId}/${sequenceNumber}/${sub}`;
      const wanted = new Set(put.map((r) => positionOf(r.shardId, r.sequenceNumber, 0)));
      const lines = await eventually(
        `all ${wanted.size} records delivered`,
        async () => {
          const delivered = await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket);
          const seen = new Set(
            delivered.map((l) =>
              positionOf(
                l.kinesis.shard_id,
                l.kinesis.sequence_number,
                l.kinesis.sub_sequence_number,
              ),
            ),
          );
          return [...wanted].every((p) => seen.has(p)) ? delivered : undefined;
        },
        120_000,
        2000,
      );
      expect(new Set(lines.map((l) => l.original.n)).size).toBe(put.length);

      // Every parent reached SHARD_END (its lease is deleted once its children have
      // checkpointed, as the KCL cleans up), and each child started only after its parents.
      await eventually(
        'parents checkpointed at SHARD_END or cleaned up',
        async () => {
          const leases = await store.listLeases();
          return parents.every((p) => {
            const lease = leases.find((l) => l.leaseKey === p.ShardId);
            return lease === undefined || lease.checkpoint === 'SHARD_END';
          })
            ? true
            : undefined;
        },
        60_000,
        500,
      );
      const logs = logLines(relays);
      expect(
        logs.some((l) => l.msg === 'reading, decoding and encoding whole pages on worker threads'),
      ).toBe(true);
      const timeOf = (msg: string, shardId: string) =>
        Date.parse(logs.find((l) => l.msg === msg && l.shardId === shardId)?.time ?? '');
      const leases = await store.listLeases();
      for (const child of children) {
        const started = timeOf('shard started', child.ShardId ?? '');
        expect(started, `${child.ShardId} started`).not.toBeNaN();
        const lease = leases.find((l) => l.leaseKey === child.ShardId);
        expect(lease?.parentShardIds.length).toBeGreaterThan(0);
        for (const parent of lease?.parentShardIds ?? []) {
          const ended = timeOf('shard reached SHARD_END', parent);
          expect(ended, `${parent} reached SHARD_END`).not.toBeNaN();
          expect(started).toBeGreaterThanOrEqual(ended);
        }
        const parentLease = leases.find((l) => l.leaseKey === lease?.parentShardIds[0]);
        if (parentLease) expect(parentLease.childShardIds).toContain(child.ShardId);
      }

      // Per partition key, delivery order (parent shard before child, then sequence order)
      // equals put order, which the producer encodes in n.
      const generation = (shardId: string) => (childIds.has(shardId) ? 1 : 0);
      const unique = new Map<string, ArchivedLine>();
      for (const line of lines) {
        const { shard_id, sequence_number, sub_sequence_number } = line.kinesis;
        unique.set(positionOf(shard_id, sequence_number, sub_sequence_number), line);
      }
      const byKey = new Map<number, ArchivedLine[]>();
      for (const line of unique.values()) {
        const key = line.original.n % 1013;
        byKey.set(key, [...(byKey.get(key) ?? []), line]);
      }
      let crossing = 0;
      for (const keyLines of byKey.values()) {
        keyLines.sort(
          (a, b) =>
            generation(a.kinesis.shard_id) - generation(b.kinesis.shard_id) ||
            (BigInt(a.kinesis.sequence_number) < BigInt(b.kinesis.sequence_number) ? -1 : 1),
        );
        const numbers = keyLines.map((l) => l.original.n);
        expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
        if (new Set(keyLines.map((l) => generation(l.kinesis.shard_id))).size > 1) crossing += 1;
      }
      // The check above covered keys that really crossed from a parent to a child.
      expect(crossing).toBeGreaterThan(0);
      console.log(
        `resharding: ${put.length} records, ${crossing} partition keys crossed parent → child in order`,
      );
    } finally {
      await producer.stop();
      for (const relay of relays) if (relay.child.exitCode === null) relay.child.kill('SIGTERM');
      await Promise.all(relays.map((relay) => relay.exited));
    }
  });
});
