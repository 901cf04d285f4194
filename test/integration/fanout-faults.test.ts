import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordCommand,
  SplitShardCommand,
  waitUntilStreamExists,
  KinesisClient,
} from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import { Writable } from 'node:stream';
import type { Checkpoint, CheckpointWrite } from '../../src/core/checkpoint.js';
import type { RecordProcessor } from '../../src/core/processor.js';
import { ReadPermits } from '../../src/core/read-permits.js';
import type { RecordPosition, UserRecord } from '../../src/core/record.js';
import { startKinesisLocal, type RunningEmulator } from '../../src/demo/emulators.js';
import { deregisterStreamConsumer } from '../../src/kinesis/fanout/consumer-registration.js';
import { createFanoutKinesisClient } from '../../src/kinesis/fanout/fanout-client.js';
import {
  SubscriptionReader,
  type SubscriptionReaderOptions,
} from '../../src/kinesis/fanout/subscription-reader.js';
import { ShardConsumer, type ShardOutcome } from '../../src/kinesis/shard-consumer.js';
import { KinesisStreamApi } from '../../src/kinesis/stream-api.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { sleep } from '../../src/core/backoff.js';
import { metricValue } from '../support/events.js';
import { startFanoutServer, type FanoutServer } from '../support/fanout-server.js';
import { eventually, uniqueName } from '../support/stack.js';

const SHARD = 'shardId-000000000000';

class CollectingProcessor implements RecordProcessor {
  readonly delivered: UserRecord[] = [];
  async process(records: readonly UserRecord[]): Promise<void> {
    this.delivered.push(...records);
  }
  checkpointable(): RecordPosition | null {
    return this.delivered.at(-1) ?? null;
  }
  async drained(): Promise<void> {}
  sequences(): string[] {
    return this.delivered.map((record) => record.sequenceNumber);
  }
}

function capturedLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger('info', destination), lines };
}

/**
 * The fan-out shard loop (ShardConsumer + SubscriptionReader, in this process) against
 * kinesis-local over HTTP/1.1: faults the relay-process tests do not reach.
 */
describe('the fan-out shard loop under faults (kinesis-local)', () => {
  let kinesis: RunningEmulator;
  let client: KinesisClient;
  let front: FanoutServer;
  let h2: KinesisClient;
  const stops: Array<() => void> = [];

  beforeAll(async () => {
    kinesis = await startKinesisLocal();
    process.env.AWS_ENDPOINT_URL_KINESIS = kinesis.endpoint;
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
    client = createFanoutKinesisClient({ region: 'us-east-1', protocol: 'http1.1' });
    // The front's certificate is kinesis-local's self-signed one.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    front = await startFanoutServer({ upstream: kinesis.endpoint, expireAfterEvents: 1 });
    // The relay's HTTP/2 client, but at the front (the SDK reads endpoint variables per call).
    h2 = new KinesisClient({
      endpoint: front.endpoint,
      region: 'us-east-1',
      requestHandler: new NodeHttp2Handler({ disableConcurrentStreams: true }),
    });
  });
  afterAll(async () => {
    for (const stop of stops) stop();
    client?.destroy();
    h2?.destroy();
    await front?.stop();
    await kinesis?.stop();
  });

  async function newStream(): Promise<string> {
    const stream = uniqueName('efo-faults');
    await client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    await waitUntilStreamExists({ client, maxWaitTime: 60 }, { StreamName: stream });
    return stream;
  }

  async function put(stream: string, n: number): Promise<string> {
    const result = await client.send(
      new PutRecordCommand({
        StreamName: stream,
        PartitionKey: 'pk',
        Data: new TextEncoder().encode(JSON.stringify({ n })),
      }),
    );
    if (!result.SequenceNumber) throw new Error('no sequence number');
    return result.SequenceNumber;
  }

  function startConsumer(
    stream: string,
    startFrom: Checkpoint,
    consumerName: string,
    fanoutClient: KinesisClient = client,
    initialTimestamp: Date | null = null,
    readPermits?: Pick<ReadPermits, 'acquire'>,
    reader: Partial<SubscriptionReaderOptions> = {},
  ) {
    const processor = new CollectingProcessor();
    const checkpoints: CheckpointWrite[] = [];
    const metrics = createMetrics();
    const { log, lines } = capturedLogger();
    const consumer = new ShardConsumer({
      api: new KinesisStreamApi(client, stream),
      shardId: SHARD,
      startFrom,
      processor,
      checkpoints: { write: async (_shard, checkpoint) => void checkpoints.push(checkpoint) },
      waitForParents: async () => true,
      options: {
        maxRecordsPerCall: 100,
        idleTimeBetweenReadsMs: 50,
        minCallIntervalMs: 0,
        checkpointIntervalMs: 100,
        initialTimestamp,
      },
      log,
      metrics,
      source: new SubscriptionReader({
        client: fanoutClient,
        stream,
        consumerName,
        log,
        ...reader,
      }),
      ...(readPermits ? { readPermits } : {}),
    });
    let outcome: ShardOutcome | 'failed' | null = null;
    void consumer.run().then(
      (value) => (outcome = value),
      () => (outcome = 'failed'),
    );
    stops.push(() => consumer.stop());
    return { processor, checkpoints, metrics, lines, consumer, outcome: () => outcome };
  }

  it('a checkpoint older than the retention resumes at TRIM_HORIZON, loudly, and does not finish the shard', async () => {
    const stream = await newStream();
    const all: string[] = [];
    for (let n = 1; n <= 3; n += 1) all.push(await put(stream, n));
    const trimmed = String(BigInt(all[0] ?? '0') - 1_000_000n);
    const started = startConsumer(
      stream,
      { sequenceNumber: trimmed, subSequenceNumber: 0 },
      uniqueName('efo-trim'),
    );
    await eventually(
      'every retained record was delivered',
      async () => {
        if (started.outcome() !== null) throw new Error(`the loop ended: ${started.outcome()}`);
        return started.processor.sequences().includes(all.at(-1) ?? '') ? true : undefined;
      },
      60_000,
      100,
    );
    expect(started.processor.sequences()).toEqual(all);
    expect(started.checkpoints).not.toContain('SHARD_END');
    expect(
      await metricValue(started.metrics, 'kinesis_relay_checkpoint_trimmed_total', {
        stream,
        shard: SHARD,
      }),
    ).toBe(1);
    const later = await put(stream, 99);
    await eventually('a later record was delivered', async () =>
      started.processor.sequences().includes(later) ? true : undefined,
    );
  });

  it('a consumer deregistered under a running loop is registered again: the shard goes on, not finished (HTTP/2 front, a subscription per event)', async () => {
    const stream = await newStream();
    const consumerName = uniqueName('efo-gone');
    const first = await put(stream, 1);
    const rejectedBefore = front.counters.rejected;
    const started = startConsumer(stream, 'TRIM_HORIZON', consumerName, h2);
    await eventually('the first record delivered', async () =>
      started.processor.sequences().includes(first) ? true : undefined,
    );
    // Through the front, which ends the consumer's subscriptions as AWS does.
    expect(await deregisterStreamConsumer(h2, stream, consumerName)).toBe(true);
    await eventually(
      'a subscription refused for the deregistered consumer',
      async () => (front.counters.rejected > rejectedBefore ? true : undefined),
      30_000,
      100,
    );
    const later: string[] = [];
    for (let n = 2; n <= 4; n += 1) later.push(await put(stream, n));
    await eventually(
      'the records put after the deregistration delivered',
      async () => {
        if (started.outcome() !== null) throw new Error(`the loop ended: ${started.outcome()}`);
        const seen = started.processor.sequences();
        return later.every((sequence) => seen.includes(sequence)) ? true : undefined;
      },
      90_000,
      200,
    );
    expect(started.checkpoints).not.toContain('SHARD_END');
    expect(new Set(started.processor.sequences()).size).toBe(started.processor.sequences().length);
  });

  it('a loop stopped while the last event of a closed shard waits for a read permit does not write SHARD_END past its undelivered records (HTTP/2 front)', async () => {
    const stream = await newStream();
    const all: string[] = [];
    for (let n = 1; n <= 3; n += 1) all.push(await put(stream, n));
    await client.send(
      new SplitShardCommand({
        StreamName: stream,
        ShardToSplit: SHARD,
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    await eventually('the stream ACTIVE again', async () => {
      const { StreamDescriptionSummary: summary } = await client.send(
        new DescribeStreamSummaryCommand({ StreamName: stream }),
      );
      return summary?.StreamStatus === 'ACTIVE' ? true : undefined;
    });
    // Every read permit of the process is held elsewhere (other shards' pages).
    const permits = new ReadPermits(1);
    const held = await permits.acquire();
    let waiting = 0;
    const probe: Pick<ReadPermits, 'acquire'> = {
      acquire: (signal, page) => {
        waiting += 1;
        return permits.acquire(signal, page);
      },
    };
    const started = startConsumer(stream, 'TRIM_HORIZON', uniqueName('efo-end'), h2, null, probe);
    await eventually(
      'an event of the closed shard waits for a read permit',
      async () => (waiting > 0 ? true : undefined),
      60_000,
      50,
    );
    // SIGTERM or a handoff: the loop stops before the event was routed.
    started.consumer.stop();
    held();
    const outcome = await eventually('the loop ended', async () => started.outcome() ?? undefined);
    expect(started.processor.sequences()).toEqual([]);
    expect(started.checkpoints).not.toContain('SHARD_END');
    expect(outcome).toBe('stopped');
  });

  it('subscriptions that end without an event are opened again after 1-2 s each, never at once (HTTP/2 front)', async () => {
    // AWS allows one SubscribeToShard per second per consumer and shard: a server closing
    // subscriptions at once (no event, no error) made the loop subscribe again at once,
    // in a tight loop that AWS throttles. The waits are recorded, and cut short.
    const stream = await newStream();
    const waits: number[] = [];
    const wait = (ms: number, signal?: AbortSignal) => {
      waits.push(ms);
      return sleep(Math.min(ms, 20), signal);
    };
    const emptyBefore = front.counters.emptyEnds;
    // The first three subscriptions end empty, and so does the first one after the record
    // (the front ends a subscription after its event with records: the loop subscribes
    // again at once, since that one delivered).
    let fromStart = 3;
    let afterRecord = 1;
    front.options.endEmpty = (position) => {
      if (position.Type === 'TRIM_HORIZON' && fromStart > 0) {
        fromStart -= 1;
        return true;
      }
      if (position.Type === 'AFTER_SEQUENCE_NUMBER' && afterRecord > 0) {
        afterRecord -= 1;
        return true;
      }
      return false;
    };
    try {
      const started = startConsumer(
        stream,
        'TRIM_HORIZON',
        uniqueName('efo-empty'),
        h2,
        null,
        undefined,
        { sleep: wait },
      );
      const record = await put(stream, 1);
      await eventually(
        'the record delivered and one more subscription ended empty',
        async () => {
          if (started.outcome() !== null) throw new Error(`the loop ended: ${started.outcome()}`);
          return started.processor.sequences().includes(record) &&
            front.counters.emptyEnds - emptyBefore >= 4
            ? true
            : undefined;
        },
        30_000,
        50,
      );
      await eventually(
        'the wait after it',
        async () => (waits.length >= 4 ? true : undefined),
        10_000,
        20,
      );
      // Each wait at least the 1 s AWS allows between subscriptions, and no more than 2 s
      // (jittered), however many end empty in a row: a growing wait held records back.
      expect(waits).toHaveLength(4);
      for (const ms of waits) {
        expect(ms).toBeGreaterThanOrEqual(1_000);
        expect(ms).toBeLessThanOrEqual(2_000);
      }
      expect(started.processor.sequences()).toEqual([record]);
      // Stopped here, not in afterAll: its loop keeps subscribing through the shared front.
      started.consumer.stop();
    } finally {
      front.options.endEmpty = undefined;
    }
  });

  it('a LATEST loop whose first subscriptions fail re-subscribes where it began, not at the new tip: a record put meanwhile is delivered (HTTP/2 front)', async () => {
    const stream = await newStream();
    const consumerName = uniqueName('efo-latest-retry');
    // Refusals of this test's consumer only: other tests' loops share the front, and one
    // of them taking a refusal made this test put its record before its own loop began.
    let refused = 0;
    front.options.rejectAt = (_position, subscriber) => {
      const ours = subscriber.ConsumerARN.split('/consumer/')[1]?.split(':')[0] === consumerName;
      if (!ours || refused >= 3) {
        return undefined;
      }
      refused += 1;
      return 'ResourceInUseException';
    };
    const started = startConsumer(stream, 'LATEST', consumerName, h2);
    try {
      await eventually(
        'the first subscription refused',
        async () => (refused > 0 ? true : undefined),
        30_000,
        10,
      );
      // Put after the loop began (and its start was pinned): it is the loop's to deliver.
      const record = await put(stream, 1);
      await eventually(
        'the record put after the start was delivered',
        async () => {
          if (started.outcome() !== null) throw new Error(`the loop ended: ${started.outcome()}`);
          return started.processor.sequences().includes(record) ? true : undefined;
        },
        30_000,
        100,
      );
      expect(started.processor.sequences()).toEqual([record]);
      expect(refused).toBe(3);
    } finally {
      front.options.rejectAt = undefined;
    }
  });

  it('a re-subscription after the last event handed over whose record was trimmed meanwhile (InvalidArgumentException) resumes at TRIM_HORIZON instead of retrying forever (HTTP/2 front)', async () => {
    const stream = await newStream();
    const first = await put(stream, 1);
    // The shard fell behind past the retention: every subscription after a record handed
    // over is refused, as Kinesis refuses a trimmed position. (The front ends each
    // subscription after one event with records, so the loop subscribes again at once.)
    front.options.rejectAt = (position) =>
      position.Type === 'AFTER_SEQUENCE_NUMBER' ? 'InvalidArgumentException' : undefined;
    const started = startConsumer(stream, 'TRIM_HORIZON', uniqueName('efo-trimmed-after'), h2);
    try {
      await eventually('the first record delivered', async () =>
        started.processor.sequences().includes(first) ? true : undefined,
      );
      const later = [await put(stream, 2), await put(stream, 3)];
      await eventually(
        'the records after the trimmed position delivered',
        async () => {
          if (started.outcome() !== null) throw new Error(`the loop ended: ${started.outcome()}`);
          const seen = started.processor.sequences();
          return later.every((sequence) => seen.includes(sequence)) ? true : undefined;
        },
        30_000,
        200,
      );
      expect(started.processor.sequences()).toEqual([first, ...later]);
      expect(started.checkpoints).not.toContain('SHARD_END');
      expect(
        await metricValue(started.metrics, 'kinesis_relay_checkpoint_trimmed_total', {
          stream,
          shard: SHARD,
        }),
      ).toBeGreaterThanOrEqual(1);
    } finally {
      front.options.rejectAt = undefined;
    }
  });

  it('AT_TIMESTAMP and LATEST subscribe where polling would start reading', async () => {
    const stream = await newStream();
    const before = [await put(stream, 1), await put(stream, 2)];
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const from = new Date();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = [await put(stream, 3), await put(stream, 4)];
    const atTime = startConsumer(stream, 'AT_TIMESTAMP', uniqueName('efo-time'), client, from);
    const latest = startConsumer(stream, 'LATEST', uniqueName('efo-latest'));
    await eventually('the records after the timestamp delivered', async () =>
      after.every((sequence) => atTime.processor.sequences().includes(sequence)) ? true : undefined,
    );
    expect(atTime.processor.sequences()).toEqual(after);
    // LATEST: nothing put before it; records put while it runs arrive, in order. Puts go
    // on until one arrives (when the subscription opened is not observable from here).
    const puts: string[] = [];
    await eventually(
      'a record put after the LATEST subscription opened delivered',
      async () => {
        puts.push(await put(stream, 100 + puts.length));
        return latest.processor.sequences().length > 0 ? true : undefined;
      },
      60_000,
      300,
    );
    const seen = latest.processor.sequences();
    expect(seen.every((sequence) => puts.includes(sequence))).toBe(true);
    expect(seen).toEqual(
      puts.slice(puts.indexOf(seen[0] ?? ''), puts.indexOf(seen[0] ?? '') + seen.length),
    );
    expect(before.some((sequence) => atTime.processor.sequences().includes(sequence))).toBe(false);
  });
});
