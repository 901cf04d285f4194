import { DescribeStreamConsumerCommand } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStream, putAll } from '../../src/demo/producer.js';
import { streamArnOf } from '../../src/kinesis/fanout/consumer-registration.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import { startFanoutServer, type FanoutServer } from '../support/fanout-server.js';
import { readJsonLines } from '../support/s3-reader.js';
import { runCli, startRelayProcess, writeConfig } from '../support/relay-process.js';
import { testRelayConfig, type ArchivedLine } from '../support/relay-config.js';
import { lastPositionPerShard, plannedRecords } from '../support/records.js';
import {
  createBucket,
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
});
