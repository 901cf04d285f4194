import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { AckHandle } from '../../src/core/ack.js';
import type { RelayEvent } from '../../src/core/event.js';
import type { RecordPosition, UserRecord } from '../../src/core/record.js';
import { createDecoder, csvShapeFor } from '../../src/decode/index.js';
import {
  AIRSHIP_LOCATION,
  AIRSHIP_UNINSTALL,
  MPARTICLE_MEMBER_ADDED_DATA,
  PINPOINT_APP_EVENT,
  mparticleEnvelope,
  userRecord,
} from '../../src/decode/fixtures/samples.js';
import { useS3rver } from '../support/s3rver.js';
import { kplAggregate } from '../../src/demo/producer.js';
import { deaggregate } from '../../src/kinesis/deaggregate.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, sinkDeadLetterCounter } from '../../src/observability/metrics.js';
import { Router } from '../../src/pipeline/router.js';
import { ShardPipeline } from '../../src/pipeline/shard-pipeline.js';
import { DecodePool } from '../../src/pipeline/workers/decode-pool.js';
import { decodeWorkerSpec } from '../../src/pipeline/workers/worker-spec.js';
import { createSinks } from '../../src/sinks/create-sinks.js';
import type { Sink } from '../../src/sinks/sink.js';
import { directoryDeadLetter, readDeadLetters } from '../support/dead-letters.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';

/**
 * consumer.workerThreads must change where the work runs, nothing else: the same pages
 * through the real pipeline and the real sinks (S3 on s3rver, a webhook receiver that
 * answers slowly, a local dead-letter directory), once on the main thread and once with
 * two worker threads, give the same objects byte for byte, the same dead-letter entries
 * and the same checkpoint positions.
 */

const BUCKET = 'threads';
const storage = useS3rver();
let receiver: HttpReceiver;

beforeAll(async () => {
  await storage.createBucket(BUCKET);
  // The slow sink: every webhook request is answered after 150 ms.
  receiver = await startHttpReceiver(() => ({ status: 200, delayMs: 150 }));
}, 60_000);

afterAll(async () => {
  await receiver?.close();
});

const SHARD = 'shardId-000000000007';
const sequence = (n: number) => String(49_000_000_000_000n + BigInt(n));

/** Two pages of one shard: every format, unicode, KPL sub-records, poison in the middle. */
function pages(): UserRecord[][] {
  const at = (n: number, doc: unknown, extra: Partial<UserRecord> = {}) =>
    userRecord(typeof doc === 'string' ? doc : JSON.stringify(doc), {
      shardId: SHARD,
      sequenceNumber: sequence(n),
      approximateArrivalTimestamp: new Date(Date.UTC(2024, 2, 1, 12, 0, n)),
      partitionKey: `pk-${n % 3}`,
      ...extra,
    });
  const aggregate = kplAggregate(
    ['{"kpl":1,"text":"α"}', 'not json at all', '{"kpl":3}'].map((text, i) => ({
      partitionKey: `agg-${i}`,
      data: Buffer.from(text),
    })),
  );
  const subRecords = deaggregate(
    {
      Data: aggregate.data,
      PartitionKey: 'agg',
      SequenceNumber: sequence(10),
      ApproximateArrivalTimestamp: new Date(Date.UTC(2024, 2, 1, 12, 0, 10)),
    },
    'engagement-events',
    SHARD,
  );
  return [
    [
      at(1, PINPOINT_APP_EVENT),
      at(2, AIRSHIP_LOCATION),
      at(3, '{"broken json'), // poison in the middle of a page
      at(4, {
        ...PINPOINT_APP_EVENT,
        event_type: 'custom.ünïcödé 🎉',
        attributes: { q: 'a,"b"\nc' },
      }),
      at(5, AIRSHIP_UNINSTALL, { partitionKey: 'clé-🔑' }),
      at(6, new Uint8Array([0xff, 0xfe, 0x00, 0x41])),
      at(7, mparticleEnvelope(MPARTICLE_MEMBER_ADDED_DATA)),
      at(8, { id: 'plain-json', lone: '\ud800', type: 'x' }),
    ],
    [...subRecords, at(11, PINPOINT_APP_EVENT), at(12, '')],
  ];
}

/** A sink that holds events until the test acknowledges them (it encodes nothing). */
class HeldSink implements Sink {
  readonly held: Array<{ event: RelayEvent; ack: AckHandle }> = [];
  readonly name = 'held';
  write(event: RelayEvent, ack: AckHandle): void {
    this.held.push({ event, ack });
  }
  waitForCapacity(): undefined {
    return undefined;
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

interface RunOutcome {
  objects: Array<{ object: string; bytes: string }>;
  deadLetters: unknown[];
  held: unknown[];
  webhookEvents: unknown[];
  checkpoints: Array<RecordPosition | null>;
}

async function run(prefix: string, threads: number): Promise<RunOutcome> {
  const deadLetter = directoryDeadLetter();
  const webhookBefore = receiver.requests.length;
  const config = validateConfig(
    {
      application: `threads-${prefix}`,
      stream: { name: 'engagement-events' },
      consumer: { workerThreads: threads },
      deadLetter,
      sinks: [
        {
          name: 'csv',
          type: 's3',
          bucket: BUCKET,
          prefix: `${prefix}/csv/`,
          format: 'csv',
          layout: 'hourly',
          buffer: { maxRecords: 5, maxBytes: 1_000_000, maxAgeMs: 600_000 },
        },
        {
          name: 'lines',
          type: 's3',
          bucket: BUCKET,
          prefix: `${prefix}/jsonl/`,
          format: 'jsonl',
          layout: '{format}/{eventType}/{yyyy}/{HH}/',
          filter: { formats: ['pinpoint', 'json', 'raw'] },
          buffer: { maxRecords: 1000, maxBytes: 1_000_000, maxAgeMs: 600_000 },
        },
        {
          name: 'airship',
          type: 's3',
          bucket: BUCKET,
          prefix: `${prefix}/airship/`,
          format: 'csv',
          layout: 'airship',
          appKey: 'app',
          integrationId: 'int',
          exactlyOnce: true,
          filter: { formats: ['airship'] },
          buffer: { maxRecords: 1000, maxBytes: 1_000_000, maxAgeMs: 600_000 },
        },
        {
          // Parquet encodes on the main thread: its events are decoded there again.
          name: 'parquet',
          type: 's3',
          bucket: BUCKET,
          prefix: `${prefix}/parquet/`,
          format: 'parquet',
          layout: 'hourly',
          buffer: { maxRecords: 1000, maxBytes: 1_000_000, maxAgeMs: 600_000 },
        },
        {
          name: 'slow-hook',
          type: 'webhook',
          url: receiver.url,
          buffer: { maxRecords: 2, maxBytes: 1_000_000, maxAgeMs: 50 },
        },
      ],
    },
    'test',
    {},
  );
  const log = createLogger('silent');
  const metrics = createMetrics();
  const sinkSet = createSinks(config, { s3: storage.clients.s3, csvShapeFor, metrics, log });
  const held = new HeldSink();
  const routes = sinkSet.sinks.map(({ sink, config: sinkConfig }) => ({
    sink,
    eventTypes: sinkConfig.filter.eventTypes,
    formats: sinkConfig.filter.formats,
    streams: sinkConfig.filter.streams,
  }));
  // The held sink last: the workers' spec lists the configured sinks in the router's order.
  const router = new Router([...routes, { sink: held, eventTypes: [], formats: [] }]);
  const spec = decodeWorkerSpec(
    config.decode.format,
    { streamInIds: false },
    sinkSet.sinks.map((sink) => sink.config),
  );
  if (threads > 0 && !spec) throw new Error('the S3 sinks encode on worker threads');
  const pool =
    threads > 0 && spec
      ? new DecodePool({
          threads,
          spec: {
            ...spec,
            sinks: [...spec.sinks, { filter: { eventTypes: [], formats: [] }, encoding: null }],
          },
          log,
        })
      : null;
  const pipeline = new ShardPipeline(
    createDecoder(config.decode.format),
    router,
    sinkSet.deadLetter,
    pool,
    sinkDeadLetterCounter(metrics),
  );
  const checkpoints: Array<RecordPosition | null> = [];
  try {
    for (const page of pages()) await pipeline.process(page);
    for (const { sink } of sinkSet.sinks) await sink.flush();
    await sinkSet.deadLetter.flush();
    checkpoints.push(pipeline.checkpointable()); // the held sink holds every event
    held.held.slice(0, 4).forEach(({ ack }) => ack.ack());
    checkpoints.push(pipeline.checkpointable());
    held.held.forEach(({ ack }) => ack.ack());
    // The exactly-once sink writes its open segment when the shard ends (a flush leaves it).
    pipeline.endOfShard();
    await pipeline.drained();
    checkpoints.push(pipeline.checkpointable());
  } finally {
    await pool?.close();
    for (const { sink } of sinkSet.sinks) await sink.close();
    await sinkSet.deadLetter.close();
  }
  return {
    objects: await objectsUnder(`${prefix}/`),
    deadLetters: sorted(readDeadLetters(deadLetter.path)),
    held: held.held.map(({ event }) => ({ ...event, record: plainRecord(event.record) })),
    // Lanes by partition key: requests of different lanes finish in any order.
    webhookEvents: sorted(
      receiver.requests
        .slice(webhookBefore)
        .flatMap((request) => JSON.parse(request.body.toString()) as unknown[]),
    ),
    checkpoints,
  };
}

function sorted<T>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

function plainRecord(record: UserRecord) {
  return { ...record, data: Buffer.from(record.data).toString('base64') };
}

/** Every object's bytes (compressed, as stored), keyed by its key less the run's prefix and random batch id. */
async function objectsUnder(prefix: string): Promise<Array<{ object: string; bytes: string }>> {
  const listed = await storage.clients.s3.send(
    new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }),
  );
  const objects = [];
  for (const entry of listed.Contents ?? []) {
    const key = entry.Key ?? '';
    const body = await storage.clients.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const bytes = Buffer.from(await body.Body!.transformToByteArray()).toString('base64');
    // At-least-once objects end in a random batch id (16 hex); exactly-once ones do not.
    objects.push({
      object: key.slice(prefix.length).replace(/[-_][0-9a-f]{16}(\.\w+(\.gz)?)$/, '$1'),
      bytes,
    });
  }
  return objects.sort((a, b) => (a.object + a.bytes).localeCompare(b.object + b.bytes));
}

describe('consumer.workerThreads: the same output with and without worker threads', () => {
  it('0 and 2 threads give the same S3 bytes, dead-letter entries, events and checkpoints', async () => {
    const mainThread = await run('main', 0);
    const threaded = await run('threads', 2);

    // The runs are not trivially equal: every path was taken.
    expect(mainThread.objects.length).toBeGreaterThanOrEqual(5);
    expect(mainThread.objects.some(({ object }) => object.startsWith('parquet/'))).toBe(true);
    expect(
      mainThread.deadLetters
        .map((entry) => (entry as { sequenceNumber: string }).sequenceNumber)
        .sort(),
    ).toEqual([sequence(3), sequence(10), sequence(12)]);
    expect(mainThread.webhookEvents.length).toBeGreaterThan(5);
    expect(mainThread.checkpoints[2]).toEqual({
      sequenceNumber: sequence(12),
      subSequenceNumber: 0,
    });

    expect(threaded.objects).toEqual(mainThread.objects);
    expect(threaded.deadLetters).toEqual(mainThread.deadLetters);
    expect(threaded.held).toEqual(mainThread.held);
    expect(threaded.webhookEvents).toEqual(mainThread.webhookEvents);
    expect(threaded.checkpoints).toEqual(mainThread.checkpoints);
  });
});
