import {
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStream, putAll } from '../../src/demo/producer.js';
import { streamArnOf } from '../../src/kinesis/fanout/consumer-registration.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import { startFanoutServer, type FanoutServer } from '../support/fanout-server.js';
import { readJsonLines } from '../support/s3-reader.js';
import {
  runCli,
  startRelayProcess,
  writeConfig,
  type RelayProcess,
} from '../support/relay-process.js';
import { testRelayConfig, type ArchivedLine } from '../support/relay-config.js';
import { startHttpReceiver } from '../support/http-receiver.js';
import { ProducerLoop } from '../support/producer-loop.js';
import { lastPositionPerShard, plannedRecords } from '../support/records.js';
import {
  createBucket,
  eventually,
  startTestStack,
  uniqueName,
  waitForCheckpoints,
  type TestStack,
} from '../support/stack.js';

/**
 * consumer.mode fanout end to end: a relay process reads with SubscribeToShard, over
 * HTTP/2 (TLS, ALPN h2, as on AWS) from test/support/fanout-server.ts, and over HTTP/1.1
 * from kinesis-local itself, and delivers to s3rver with leases in dynalite.
 */
describe('enhanced fan-out (consumer.mode: fanout)', () => {
  let test: TestStack;
  let front: FanoutServer;

  beforeAll(async () => {
    test = await startTestStack();
    front = await startFanoutServer({ upstream: test.stack.env.AWS_ENDPOINT_URL_KINESIS ?? '' });
  });
  afterAll(async () => {
    await front?.stop();
    await test?.stop();
  });

  async function deliverOnce(
    prefix: string,
    fanout: Record<string, unknown>,
    env: NodeJS.ProcessEnv,
  ): Promise<{ names: { stream: string; table: string; bucket: string }; output: string }> {
    const names = {
      stream: uniqueName(prefix),
      table: uniqueName(`${prefix}-leases`),
      bucket: uniqueName(`${prefix}-archive`),
    };
    await createStream(test.clients.kinesis, names.stream, 4);
    await createBucket(test.clients, names.bucket);
    const planned = plannedRecords(0, 20_000, { aggregatedShare: 0.6, perAggregate: 10 });
    const results = await putAll(test.clients.kinesis, names.stream, planned.records);
    const expected = lastPositionPerShard(results, planned.userCounts);
    const config = testRelayConfig(names, {
      consumer: { idleTimeBetweenReadsMs: 200, mode: 'fanout', fanout },
    });
    const relay = startRelayProcess(['run', '--config', writeConfig(config)], env);
    try {
      await waitForCheckpoints(test.clients, names.table, expected, 240_000);
    } finally {
      relay.child.kill('SIGTERM');
    }
    expect(await relay.exited).toBe(0);
    const lines = await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket);
    const numbers = lines.map((line) => line.original.n).sort((a, b) => a - b);
    // Delivered once: every number, none twice.
    expect(numbers).toEqual(Array.from({ length: 20_000 }, (_, n) => n));
    expect(lines.filter((line) => line.kinesis.sub_sequence_number > 0).length).toBeGreaterThan(
      10_000,
    );
    const leases = await new LeaseStore(test.clients.dynamo, names.table).listLeases();
    expect(leases).toHaveLength(4);
    for (const lease of leases) expect(lease.checkpoint).toEqual(expected.get(lease.leaseKey));
    return { names, output: relay.output() };
  }

  it('over HTTP/2: 20,000 records (some KPL-aggregated) over 4 shards delivered once, checkpoints at the end, through forced subscription expiries', async () => {
    front.options.expireAfterEvents = 3;
    // A subscription still open elsewhere, and too many subscriptions: both waited out.
    front.options.rejectNext = ['ResourceInUseException', 'LimitExceededException'];
    const { output } = await deliverOnce(
      'efo-h2',
      { protocol: 'http2' },
      {
        ...process.env,
        AWS_ENDPOINT_URL_KINESIS: front.endpoint,
        NODE_TLS_REJECT_UNAUTHORIZED: '0',
      },
    );
    expect(output).not.toContain('lease lost');
    expect(front.counters.http2Subscriptions).toBeGreaterThan(4);
    // Each shard's subscription was ended mid-stream and resumed from its continuation.
    expect(front.counters.expiries).toBeGreaterThanOrEqual(4);
    expect(front.counters.rejected).toBe(2);
    expect(output).toContain('ResourceInUseException');
    // (LimitExceededException is a throttling error the SDK's retry strategy backs off first.)
    console.log(`fan-out over HTTP/2: ${JSON.stringify(front.counters)}`);
  });

  it('on kinesis-local over HTTP/1.1: the same 20,000 records delivered once, and `fanout deregister` removes the consumer', async () => {
    const { names, output } = await deliverOnce('efo-h1', { protocol: 'http1.1' }, process.env);
    expect(output).toContain('stream consumer is active');
    const streamArn = await streamArnOf(test.clients.kinesis, names.stream);
    const describe = () =>
      test.clients.kinesis.send(
        new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: names.table }),
      );
    expect((await describe()).ConsumerDescription?.ConsumerStatus).toBe('ACTIVE');
    const configPath = writeConfig(testRelayConfig(names, { consumer: { mode: 'fanout' } }));
    const { code, output: cli } = await runCli(['fanout', 'deregister', '--config', configPath]);
    expect({ code, cli }).toMatchObject({ code: 0 });
    expect(cli).toContain('deregistered stream consumer');
    // Deregistration is asynchronous on AWS too: DELETING, then gone.
    const after = await describe().then(
      (found) => found.ConsumerDescription?.ConsumerStatus,
      (error: Error) => error.name,
    );
    expect(['DELETING', 'ResourceNotFoundException']).toContain(after);
  });

  it('over HTTP/2: a split during fan-out keeps per-key order from parent to children, nothing lost', async () => {
    front.options.expireAfterEvents = 10;
    const names = {
      stream: uniqueName('efo-split'),
      table: uniqueName('efo-split-leases'),
      bucket: uniqueName('efo-split-archive'),
    };
    const { kinesis } = test.clients;
    await createStream(kinesis, names.stream, 2);
    await createBucket(test.clients, names.bucket);
    const config = testRelayConfig(names, {
      leases: { failoverMs: 10_000, takeIntervalMs: 1000, shardSyncIntervalMs: 1000 },
      consumer: { mode: 'fanout', fanout: { protocol: 'http2' } },
    });
    const parents = (await kinesis.send(new ListShardsCommand({ StreamName: names.stream })))
      .Shards!;
    const toSplit = parents[0]!;
    const producer = new ProducerLoop(kinesis, names.stream).start();
    const relay = startRelayProcess(['run', '--config', writeConfig(config)], {
      ...process.env,
      AWS_ENDPOINT_URL_KINESIS: front.endpoint,
      NODE_TLS_REJECT_UNAUTHORIZED: '0',
    });
    const store = new LeaseStore(test.clients.dynamo, names.table);
    try {
      await eventually('both parent leases held', async () => {
        const leases = await store.listLeases();
        return leases.length === 2 && leases.every((l) => l.leaseOwner) ? true : undefined;
      });
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const start = BigInt(toSplit.HashKeyRange!.StartingHashKey!);
      const end = BigInt(toSplit.HashKeyRange!.EndingHashKey!);
      await kinesis.send(
        new SplitShardCommand({
          StreamName: names.stream,
          ShardToSplit: toSplit.ShardId,
          NewStartingHashKey: ((start + end) / 2n).toString(),
        }),
      );
      await eventually('the stream ACTIVE again', async () => {
        const { StreamDescriptionSummary: summary } = await kinesis.send(
          new DescribeStreamSummaryCommand({ StreamName: names.stream }),
        );
        return summary?.StreamStatus === 'ACTIVE' ? true : undefined;
      });
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const put = await producer.stop();
      const children = new Set(
        ((await kinesis.send(new ListShardsCommand({ StreamName: names.stream }))).Shards ?? [])
          .map((shard) => shard.ShardId ?? '')
          .filter((id) => !parents.some((parent) => parent.ShardId === id)),
      );
      expect(children.size).toBe(2);
      expect(put.some((record) => children.has(record.shardId))).toBe(true);

      const lines = await eventually(
        `all ${put.length} records delivered`,
        async () => {
          const delivered = await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket);
          const seen = new Set(delivered.map((line) => line.original.n));
          return put.every((record) => seen.has(record.n)) ? delivered : undefined;
        },
        120_000,
        2000,
      );
      // SHARD_END written (the lease itself may be gone already: a finished parent's lease
      // is deleted once its children have checkpointed, as the KCL's cleanup does).
      await eventually('the split parent checkpointed at SHARD_END', async () =>
        relay
          .output()
          .split('\n')
          .some(
            (line) =>
              line.includes('"shard reached SHARD_END"') &&
              line.includes(`"shardId":"${toSplit.ShardId}"`),
          )
          ? true
          : undefined,
      );
      const parentLease = (await store.listLeases()).find((l) => l.leaseKey === toSplit.ShardId);
      expect([undefined, 'SHARD_END']).toContain(parentLease?.checkpoint);
      expect(relay.output()).toContain('subscription reached the end of the shard');

      // Per key, delivery order (parent before child, then sequence) is put order (n).
      const generation = (shardId: string) => (children.has(shardId) ? 1 : 0);
      const byKey = new Map<number, ArchivedLine[]>();
      for (const line of lines) {
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
        const numbers = keyLines.map((line) => line.original.n);
        expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
        if (new Set(keyLines.map((line) => generation(line.kinesis.shard_id))).size > 1) {
          crossing += 1;
        }
      }
      expect(crossing).toBeGreaterThan(0);
      // Delivered once, though subscriptions expired every 10 events.
      expect(lines.length).toBe(put.length);
      console.log(`fan-out split: ${put.length} records, ${crossing} keys crossed in order`);
    } finally {
      await producer.stop();
      if (relay.child.exitCode === null) relay.child.kill('SIGTERM');
      await relay.exited;
    }
  });

  it('on kinesis-local: a balancing handoff between fan-out workers delivers every record once', async () => {
    const names = {
      stream: uniqueName('efo-handoff'),
      table: uniqueName('efo-handoff-leases'),
      bucket: uniqueName('efo-handoff-unused'),
    };
    await createStream(test.clients.kinesis, names.stream, 4);
    // A busy receiver: in-flight records are still undelivered when the handoff starts.
    const receiver = await startHttpReceiver(() => ({ status: 200, delayMs: 1000 }));
    const configPath = writeConfig(
      testRelayConfig(names, {
        leases: { failoverMs: 3000, takeIntervalMs: 1000, shardSyncIntervalMs: 5000 },
        consumer: { mode: 'fanout', fanout: { protocol: 'http1.1' } },
        checkpoint: { intervalMs: 1000 },
        sinks: [
          {
            name: 'hooks',
            type: 'webhook',
            url: receiver.url,
            timeoutMs: 30_000,
            buffer: { maxRecords: 500, maxBytes: 1_048_576, maxAgeMs: 1000 },
            retry: { initialDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 60_000 },
          },
        ],
      }),
    );
    const store = new LeaseStore(test.clients.dynamo, names.table);
    const relays: RelayProcess[] = [];
    const start = async () => {
      const relay = startRelayProcess(['run', '--config', configPath]);
      relays.push(relay);
      return eventually(
        'a relay to start',
        async () => /"workerId":"([^"]+)"[^\n]*kinesis-relay starting/.exec(relay.output())?.[1],
        30_000,
        100,
      );
    };
    const owned = async (id: string) =>
      (await store.listLeases()).filter((l) => l.leaseOwner === id && !l.checkpointOwner).length;
    const producer = new ProducerLoop(test.clients.kinesis, names.stream, 10, 250);
    try {
      const a = await start();
      await eventually('the first relay to hold all 4 leases', async () =>
        (await owned(a)) === 4 ? true : undefined,
      );
      producer.start();
      await new Promise((resolve) => setTimeout(resolve, 4000));
      const b = await start();
      await eventually('the second relay to hold 2 leases', async () =>
        (await owned(b)) === 2 ? true : undefined,
      );
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const put = await producer.stop();
      const delivered = () =>
        receiver.requests
          .filter((r) => r.status === 200)
          .flatMap((r) =>
            (JSON.parse(r.body.toString()) as Array<{ original: { n: number } }>).map(
              (doc) => doc.original.n,
            ),
          );
      await eventually(
        `all ${put.length} records delivered`,
        async () => (new Set(delivered()).size >= put.length ? true : undefined),
        120_000,
        500,
      );
      const numbers = delivered();
      const output = relays.map((relay) => relay.output()).join('\n');
      console.log(
        `fan-out handoff: ${put.length} records, ${numbers.length - new Set(numbers).size} duplicates, ${output.split('"lease handed over"').length - 1} leases handed over`,
      );
      expect(output.split('"lease handed over"').length - 1).toBeGreaterThanOrEqual(2);
      expect(new Set(numbers).size).toBe(put.length);
      expect(numbers.length).toBe(put.length);
    } finally {
      await producer.stop();
      for (const relay of relays) if (relay.child.exitCode === null) relay.child.kill('SIGTERM');
      await Promise.all(relays.map((relay) => relay.exited));
      await receiver.close();
    }
  });
});
