import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateStreamCommand,
  KinesisClient,
  PutRecordCommand,
  waitUntilStreamExists,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Agent as HttpAgent } from 'node:http';
import { isPinnedStart, type Checkpoint, type CheckpointWrite } from '../../src/core/checkpoint.js';
import type { RecordProcessor } from '../../src/core/processor.js';
import type { RecordPosition, UserRecord } from '../../src/core/record.js';
import { startKinesisLocal, type RunningEmulator } from '../../src/demo/emulators.js';
import { ShardConsumer, type ShardOutcome } from '../../src/kinesis/shard-consumer.js';
import {
  KinesisCallTimeoutError,
  KinesisStreamApi,
  type KinesisCallTimeouts,
} from '../../src/kinesis/stream-api.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, type RelayMetrics } from '../../src/observability/metrics.js';
import { metricValue } from '../support/events.js';
import { eventually, uniqueName } from '../support/stack.js';

/*
 * The shard loop against kinesis-local behind a small fault-injecting HTTP proxy of this
 * file's own: GetRecords errors, expired iterators, hung connections and trimmed
 * checkpoints, each answered in Kinesis's wire format.
 */

const SHARD = 'shardId-000000000000';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** What the proxy does with one call: pass it on, answer an error, or never answer. */
type Fault =
  | { status: number; type: string; message?: string }
  | { rewrite: (body: Record<string, unknown>) => Record<string, unknown> }
  | 'hang'
  | undefined;

interface ProxiedCall {
  readonly operation: string;
  readonly body: Record<string, unknown>;
}

interface KinesisProxy {
  readonly endpoint: string;
  readonly calls: ProxiedCall[];
  /** Decides each call's fate; the default passes everything on. */
  rule: (call: ProxiedCall, index: number) => Fault;
  count(operation: string): number;
  close(): Promise<void>;
}

async function startKinesisProxy(target: string): Promise<KinesisProxy> {
  const hung: ServerResponse[] = [];
  const proxy: KinesisProxy = {
    endpoint: '',
    calls: [],
    rule: () => undefined,
    count: (operation) => proxy.calls.filter((call) => call.operation === operation).length,
    close: async () => {
      for (const response of hung) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      const call: ProxiedCall = {
        operation,
        body: raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {},
      };
      const index = proxy.calls.filter((c) => c.operation === operation).length;
      proxy.calls.push(call);
      const fault = proxy.rule(call, index);
      if (fault === 'hang') {
        hung.push(res);
        return;
      }
      let forwarded = raw;
      if (fault && 'rewrite' in fault) {
        forwarded = Buffer.from(JSON.stringify(fault.rewrite(call.body)));
      } else if (fault) {
        res.writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify({ __type: fault.type, message: fault.message ?? fault.type }));
        return;
      }
      const upstream = request(
        `${target}${req.url ?? '/'}`,
        {
          method: req.method,
          headers: { ...req.headers, 'content-length': String(forwarded.length) },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(forwarded);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(proxy, { endpoint: `http://127.0.0.1:${port}` });
  return proxy;
}

/** A client as the relay builds it (HTTP/1.1, standard retries, 4 attempts). */
function kinesisClient(endpoint: string): KinesisClient {
  return new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials,
    retryMode: 'standard',
    maxAttempts: 4,
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive: true }),
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
    }),
  });
}

/** Hands records over at once and acknowledges them at once, unless `gate` holds it. */
class CollectingProcessor implements RecordProcessor {
  readonly delivered: UserRecord[] = [];
  gate: Promise<void> | null = null;
  async process(records: readonly UserRecord[]): Promise<void> {
    this.delivered.push(...records);
    if (this.gate) await this.gate;
  }
  checkpointable(): RecordPosition | null {
    return this.delivered.at(-1) ?? null;
  }
  async drained(): Promise<void> {}
  sequences(): string[] {
    return this.delivered.map((record) => record.sequenceNumber);
  }
}

/** Log lines as parsed objects, for the assertions on what the relay said. */
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

describe('the shard loop under Kinesis faults (kinesis-local behind a fault proxy)', () => {
  let kinesis: RunningEmulator;
  let direct: KinesisClient;
  const running: Array<{ consumer: ShardConsumer; done: Promise<ShardOutcome> }> = [];
  const proxies: KinesisProxy[] = [];
  const clients: KinesisClient[] = [];

  beforeAll(async () => {
    kinesis = await startKinesisLocal();
    direct = kinesisClient(kinesis.endpoint);
  });
  afterAll(async () => {
    for (const { consumer, done } of running) {
      consumer.stop();
      await done.catch(() => undefined);
    }
    for (const client of clients) client.destroy();
    for (const proxy of proxies) await proxy.close();
    direct?.destroy();
    await kinesis?.stop();
  });

  async function newStream(): Promise<string> {
    const stream = uniqueName('faults');
    await direct.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 1 }));
    await waitUntilStreamExists({ client: direct, maxWaitTime: 60 }, { StreamName: stream });
    return stream;
  }

  async function put(stream: string, n: number): Promise<string> {
    const result = await direct.send(
      new PutRecordCommand({
        StreamName: stream,
        PartitionKey: 'pk',
        Data: new TextEncoder().encode(JSON.stringify({ n })),
      }),
    );
    if (!result.SequenceNumber) throw new Error('no sequence number');
    return result.SequenceNumber;
  }

  async function startConsumer(options: {
    stream: string;
    startFrom: Checkpoint;
    timeouts?: KinesisCallTimeouts;
    /** A proxy with its rule already set (for faults from the first call on). */
    proxy?: KinesisProxy;
    initialTimestamp?: Date | null;
  }) {
    const proxy = options.proxy ?? (await startKinesisProxy(kinesis.endpoint));
    if (!options.proxy) proxies.push(proxy);
    const client = kinesisClient(proxy.endpoint);
    clients.push(client);
    const api = new KinesisStreamApi(client, options.stream, options.timeouts);
    const processor = new CollectingProcessor();
    const checkpoints: CheckpointWrite[] = [];
    const metrics: RelayMetrics = createMetrics();
    const { log, lines } = capturedLogger();
    const consumer = new ShardConsumer({
      api,
      shardId: SHARD,
      startFrom: options.startFrom,
      processor,
      checkpoints: { write: async (_shard, checkpoint) => void checkpoints.push(checkpoint) },
      waitForParents: async () => true,
      options: {
        maxRecordsPerCall: 100,
        idleTimeBetweenReadsMs: 50,
        minCallIntervalMs: 20,
        checkpointIntervalMs: 100,
        initialTimestamp: options.initialTimestamp ?? null,
      },
      log,
      metrics,
    });
    const done = consumer.run();
    running.push({ consumer, done });
    return { proxy, processor, checkpoints, metrics, lines, consumer, done };
  }

  const at = (sequenceNumber: string): RecordPosition => ({ sequenceNumber, subSequenceNumber: 0 });

  it('a retry before anything was dispatched does not re-send the checkpointed record', async () => {
    const stream = await newStream();
    await put(stream, 1);
    const checkpointed = await put(stream, 2);
    const { proxy, processor } = await startConsumer({ stream, startFrom: at(checkpointed) });
    // A quiet shard: the first page holds only the checkpointed record (skipped). Then one
    // GetRecords error the SDK's own retries do not absorb (4 attempts, all 503).
    proxy.rule = (call, index) =>
      call.operation === 'GetRecords' && index >= 1 && index <= 4
        ? { status: 503, type: 'ServiceUnavailable' }
        : undefined;
    await eventually('the loop read again after the error', async () =>
      proxy.count('GetRecords') > 6 ? true : undefined,
    );
    const next = await put(stream, 3);
    await eventually('the next record was delivered', async () =>
      processor.sequences().includes(next) ? true : undefined,
    );
    expect(processor.sequences()).toEqual([next]);
  });

  it('an expired iterator before anything was dispatched restarts after the checkpoint', async () => {
    const stream = await newStream();
    const checkpointed = await put(stream, 1);
    const { proxy, processor } = await startConsumer({ stream, startFrom: at(checkpointed) });
    proxy.rule = (call, index) =>
      call.operation === 'GetRecords' && index >= 1 && index <= 2
        ? { status: 400, type: 'ExpiredIteratorException', message: 'Iterator expired' }
        : undefined;
    await eventually('the loop read again after the expiry', async () =>
      proxy.count('GetRecords') > 4 ? true : undefined,
    );
    const next = await put(stream, 2);
    await eventually('the next record was delivered', async () =>
      processor.sequences().includes(next) ? true : undefined,
    );
    expect(processor.sequences()).toEqual([next]);
    // Every new iterator started AT the checkpoint (and skipped it), none from the start.
    const starts = proxy.calls.filter((call) => call.operation === 'GetShardIterator');
    expect(starts.length).toBeGreaterThanOrEqual(2);
    for (const start of starts) {
      expect(start.body.ShardIteratorType).toBe('AT_SEQUENCE_NUMBER');
      expect(start.body.StartingSequenceNumber).toBe(checkpointed);
    }
  });

  it('an iterator expired during a sink outage resumes after the last record handed over', async () => {
    const stream = await newStream();
    const first: string[] = [];
    for (let n = 1; n <= 5; n += 1) first.push(await put(stream, n));
    let openGate = (): void => undefined;
    const { proxy, processor, metrics } = await startConsumer({
      stream,
      startFrom: 'TRIM_HORIZON',
    });
    // The sink is down: the page is handed over and the loop waits on backpressure.
    processor.gate = new Promise<void>((resolve) => (openGate = resolve));
    await eventually('the first records were handed over', async () =>
      processor.delivered.length >= 5 ? true : undefined,
    );
    // Longer than the iterator's lifetime: every GetRecords with the old iterator expires.
    const expiredAfter = proxy.count('GetRecords');
    proxy.rule = (call, index) =>
      call.operation === 'GetRecords' && index >= expiredAfter && index < expiredAfter + 3
        ? { status: 400, type: 'ExpiredIteratorException', message: 'Iterator expired' }
        : undefined;
    const startsBefore = proxy.count('GetShardIterator');
    processor.gate = null;
    openGate();
    const later: string[] = [];
    for (let n = 6; n <= 8; n += 1) later.push(await put(stream, n));
    await eventually('the later records were delivered', async () =>
      processor.sequences().includes(later.at(-1) ?? '') ? true : undefined,
    );
    expect(processor.sequences()).toEqual([...first, ...later]);
    // Resuming AT a record still held is not mistaken for a trimmed start.
    expect(
      await metricValue(metrics, 'kinesis_relay_checkpoint_trimmed_total', { shard: SHARD }),
    ).toBe(0);
    const restarts = proxy.calls
      .filter((call) => call.operation === 'GetShardIterator')
      .slice(startsBefore);
    expect(restarts.length).toBeGreaterThanOrEqual(1);
    for (const restart of restarts) {
      expect(restart.body.ShardIteratorType).toBe('AT_SEQUENCE_NUMBER');
      expect(restart.body.StartingSequenceNumber).toBe(first.at(-1));
    }
  });

  it('a LATEST start that fails before its first record re-opens where it started, not at the new tip: a record put meanwhile is delivered', async () => {
    const stream = await newStream();
    const proxy = await startKinesisProxy(kinesis.endpoint);
    proxies.push(proxy);
    // GetRecords fails (past the SDK's own retries) until the test says otherwise.
    let failing = true;
    proxy.rule = (call) =>
      failing && call.operation === 'GetRecords'
        ? { status: 503, type: 'ServiceUnavailable' }
        : undefined;
    const { processor } = await startConsumer({ stream, startFrom: 'LATEST', proxy });
    await eventually(
      'the LATEST iterator',
      async () => (proxy.count('GetShardIterator') >= 1 ? true : undefined),
      20_000,
      10,
    );
    // Put after the shard loop started reading at LATEST: it is the loop's to deliver.
    const record = await put(stream, 1);
    const opensAtPut = proxy.count('GetShardIterator');
    await eventually(
      'an iterator re-opened after the put',
      async () => (proxy.count('GetShardIterator') > opensAtPut ? true : undefined),
      60_000,
      10,
    );
    failing = false;
    await eventually(
      'the record put after the start was delivered',
      async () => (processor.sequences().includes(record) ? true : undefined),
      30_000,
    );
    expect(processor.sequences()).toEqual([record]);
  });

  it('a LATEST shard handed over before its first record: the next owner starts where the first began, and a record put between the two owners is delivered', async () => {
    const stream = await newStream();
    const first = await startConsumer({ stream, startFrom: 'LATEST' });
    await eventually('the first owner reads', async () =>
      first.proxy.count('GetRecords') >= 2 ? true : undefined,
    );
    // A handoff or a shutdown: the first owner stops, its last checkpoint written.
    first.consumer.stop();
    expect(await first.done).toBe('stopped');
    await first.consumer.checkpointProgress();
    const record = await put(stream, 1);
    // The next owner starts from the lease as the first left it (as RunningShards reads it,
    // src/app-running-shards.ts: the AT_TIMESTAMP sentinel with its time in checkpointTimestamp).
    const left = first.checkpoints.at(-1);
    const pinned = left !== undefined && isPinnedStart(left) ? left.atTimestamp : null;
    expect(pinned).not.toBeNull();
    const next = await startConsumer({
      stream,
      startFrom: pinned ? 'AT_TIMESTAMP' : ((left as Checkpoint | undefined) ?? 'LATEST'),
      initialTimestamp: pinned,
    });
    await eventually(
      'the record put between the owners was delivered',
      async () => (next.processor.sequences().includes(record) ? true : undefined),
      30_000,
    );
    expect(next.processor.sequences()).toEqual([record]);
  });

  // The SDK's socket timeout is 30 s per attempt, 4 attempts: without a deadline of our
  // own each of these waits would be 30 s or more. Deadlines of 1 s make it one second.
  const shortDeadlines: KinesisCallTimeouts = { getRecordsMs: 1_000, callMs: 1_000 };

  it('a hung GetShardIterator or GetRecords costs one deadline, never a stuck shard', async () => {
    const stream = await newStream();
    const first: string[] = [];
    for (let n = 1; n <= 3; n += 1) first.push(await put(stream, n));
    const proxy = await startKinesisProxy(kinesis.endpoint);
    proxies.push(proxy);
    // The first GetShardIterator and the second GetRecords never answer.
    proxy.rule = (call, index) =>
      (call.operation === 'GetShardIterator' && index === 0) ||
      (call.operation === 'GetRecords' && index === 1)
        ? 'hang'
        : undefined;
    const { processor } = await startConsumer({
      stream,
      startFrom: 'TRIM_HORIZON',
      timeouts: shortDeadlines,
      proxy,
    });
    await eventually(
      'the first records were delivered',
      async () => (processor.delivered.length >= 3 ? true : undefined),
      20_000,
    );
    const later: string[] = [];
    for (let n = 4; n <= 6; n += 1) later.push(await put(stream, n));
    await eventually(
      'the later records were delivered',
      async () => (processor.sequences().includes(later.at(-1) ?? '') ? true : undefined),
      20_000,
    );
    expect(processor.sequences()).toEqual([...first, ...later]);
    expect(proxy.count('GetRecords')).toBeGreaterThan(2);
  });

  it('a hung ListShards or GetShardIterator call rejects at its deadline', async () => {
    const stream = await newStream();
    const proxy = await startKinesisProxy(kinesis.endpoint);
    proxies.push(proxy);
    proxy.rule = () => 'hang';
    const client = kinesisClient(proxy.endpoint);
    clients.push(client);
    const api = new KinesisStreamApi(client, stream, shortDeadlines);
    await expect(api.listShards()).rejects.toBeInstanceOf(KinesisCallTimeoutError);
    await expect(api.getShardIterator(SHARD, { type: 'TRIM_HORIZON' })).rejects.toBeInstanceOf(
      KinesisCallTimeoutError,
    );
    // Stopping the loop still aborts at once, as a stop and not as a timeout.
    const stop = new AbortController();
    const pending = api.getRecords('iterator', 10, stop.signal);
    stop.abort();
    await expect(pending).rejects.not.toBeInstanceOf(KinesisCallTimeoutError);
  }, 20_000);

  /** A sequence number below every record of the stream: a checkpoint trimmed long ago. */
  const trimmedLongAgo = (oldest: string) => at(String(BigInt(oldest) - 1_000_000n));

  async function expectResumedAtTrimHorizon(
    started: Awaited<ReturnType<typeof startConsumer>>,
    stream: string,
    all: string[],
  ) {
    const { processor, checkpoints, metrics, lines } = started;
    await eventually('every retained record was delivered', async () =>
      processor.sequences().includes(all.at(-1) ?? '') ? true : undefined,
    );
    expect(processor.sequences()).toEqual(all);
    expect(checkpoints).not.toContain('SHARD_END');
    expect(
      await metricValue(metrics, 'kinesis_relay_checkpoint_trimmed_total', {
        stream,
        shard: SHARD,
      }),
    ).toBe(1);
    const loud = lines.filter((line) => line.level === 50 && /trimmed/.test(String(line.msg)));
    expect(loud).toHaveLength(1);
    // The loop goes on reading (no crash, no restart): a later record arrives too.
    const later = await put(stream, 99);
    await eventually('a later record was delivered', async () =>
      processor.sequences().includes(later) ? true : undefined,
    );
  }

  it('a checkpoint older than the retention resumes at TRIM_HORIZON, loudly (kinesis-local: ResourceNotFoundException)', async () => {
    const stream = await newStream();
    const all: string[] = [];
    for (let n = 1; n <= 3; n += 1) all.push(await put(stream, n));
    // kinesis-local answers GetShardIterator for a sequence number it does not hold with
    // ResourceNotFoundException "Unable to find record with provided SequenceNumber".
    const started = await startConsumer({ stream, startFrom: trimmedLongAgo(all[0] ?? '') });
    await expectResumedAtTrimHorizon(started, stream, all);
  });

  it('a checkpoint older than the retention resumes at TRIM_HORIZON, loudly (InvalidArgumentException)', async () => {
    const stream = await newStream();
    const all: string[] = [];
    for (let n = 1; n <= 3; n += 1) all.push(await put(stream, n));
    const proxy = await startKinesisProxy(kinesis.endpoint);
    proxies.push(proxy);
    proxy.rule = (call) =>
      call.operation === 'GetShardIterator' && call.body.StartingSequenceNumber !== undefined
        ? {
            status: 400,
            type: 'InvalidArgumentException',
            message: 'StartingSequenceNumber is no longer available (trimmed)',
          }
        : undefined;
    const started = await startConsumer({
      stream,
      startFrom: trimmedLongAgo(all[0] ?? ''),
      proxy,
    });
    await expectResumedAtTrimHorizon(started, stream, all);
  });

  it('a trimmed checkpoint is reported once, though a GetRecords error re-opens the shard before its first record', async () => {
    const stream = await newStream();
    const all: string[] = [];
    for (let n = 1; n <= 3; n += 1) all.push(await put(stream, n));
    const proxy = await startKinesisProxy(kinesis.endpoint);
    proxies.push(proxy);
    proxy.rule = (call, index) =>
      call.operation === 'GetShardIterator' && call.body.StartingSequenceNumber !== undefined
        ? {
            status: 400,
            type: 'InvalidArgumentException',
            message: 'StartingSequenceNumber is no longer available (trimmed)',
          }
        : // The first GetRecords fails past the SDK's own retries (4 attempts).
          call.operation === 'GetRecords' && index <= 3
          ? { status: 503, type: 'ServiceUnavailable' }
          : undefined;
    const started = await startConsumer({
      stream,
      startFrom: trimmedLongAgo(all[0] ?? ''),
      proxy,
    });
    await expectResumedAtTrimHorizon(started, stream, all);
  });

  it('a checkpoint older than the retention is reported when Kinesis starts at the trim horizon itself', async () => {
    const stream = await newStream();
    const all: string[] = [];
    for (let n = 1; n <= 3; n += 1) all.push(await put(stream, n));
    const proxy = await startKinesisProxy(kinesis.endpoint);
    proxies.push(proxy);
    // As Kinesis may do: an iterator for the trimmed record, positioned at the oldest one.
    proxy.rule = (call) =>
      call.operation === 'GetShardIterator' && call.body.StartingSequenceNumber !== undefined
        ? {
            rewrite: ({ StartingSequenceNumber: _dropped, ...body }) => ({
              ...body,
              ShardIteratorType: 'TRIM_HORIZON',
            }),
          }
        : undefined;
    const started = await startConsumer({
      stream,
      startFrom: trimmedLongAgo(all[0] ?? ''),
      proxy,
    });
    await expectResumedAtTrimHorizon(started, stream, all);
  });
});
