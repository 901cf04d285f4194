/*
 * The exactly-once scenario: what `exactlyOnce: true` costs the S3 sink (records/s with and
 * without it, and how many objects each writes), in process against s3rver.
 */
import { CreateBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { validateConfig } from '../../src/config/load.js';
import { isS3Sink, type S3SinkConfig } from '../../src/config/schema.js';
import type { RelayEvent } from '../../src/core/event.js';
import type { UserRecord } from '../../src/core/record.js';
import { startS3rver } from '../../src/demo/emulators.js';
import { createDecoder, csvShapeFor } from '../../src/decode/index.js';
import { createAwsClients, destroyAwsClients } from '../../src/kinesis/clients.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { determinismFingerprint } from '../../src/sinks/s3/config-fingerprint.js';
import { EventEncoder } from '../../src/sinks/s3/event-encoder.js';
import { ExactlyOnceS3Sink } from '../../src/sinks/s3/exactly-once-sink.js';
import { KeyLayout } from '../../src/sinks/s3/key-layout.js';
import { S3Sink } from '../../src/sinks/s3/s3-sink.js';
import type { Sink } from '../../src/sinks/sink.js';

const PAGE = 500;

export interface ExactlyOnceCostOptions {
  readonly records: number;
  readonly rounds: number;
  readonly shards: number;
  /** Record time between consecutive records: with many shards and a low rate, many objects. */
  readonly spacingMs: number;
}

export interface ExactlyOnceCost {
  readonly medianDefault: number;
  readonly medianExactlyOnce: number;
  /** exactlyOnce records/s ÷ default records/s, same run, interleaved. */
  readonly ratio: number;
  readonly objects: Record<'default' | 'exactlyOnce', number>;
  readonly recordsPerSecond: Record<'default' | 'exactlyOnce', number[]>;
}

const shardName = (shard: number) => `shardId-${String(shard).padStart(12, '0')}`;

/** Decoded events spread over the shards, `spacingMs` of record time apart. */
function events({
  records: RECORDS,
  shards: SHARDS,
  spacingMs: SPACING_MS,
}: ExactlyOnceCostOptions): RelayEvent[] {
  const decoder = createDecoder('json');
  const start = Date.parse('2026-01-02T03:00:00Z');
  const out: RelayEvent[] = [];
  for (let n = 0; n < RECORDS; n += 1) {
    const shard = n % SHARDS;
    const record: UserRecord = {
      streamName: 'bench',
      shardId: shardName(shard),
      sequenceNumber: String(49_000_000_000_000_000_000n + BigInt(n)),
      subSequenceNumber: 0,
      partitionKey: `key-${n % 1013}`,
      aggregated: false,
      approximateArrivalTimestamp: new Date(start + n * SPACING_MS),
      data: Buffer.from(JSON.stringify({ n, payload: `record ${n} ${'x'.repeat(n % 200)}` })),
    };
    const result = decoder.decode(record);
    if (result.ok) out.push(...result.events);
  }
  return out;
}

function sinkConfig(bucket: string, exactlyOnce: boolean): S3SinkConfig {
  const config = validateConfig(
    {
      application: 'bench-app',
      stream: { name: 'bench' },
      sinks: [
        {
          name: 'archive',
          type: 's3',
          bucket,
          format: 'jsonl',
          layout: 'hourly',
          compression: 'gzip',
          exactlyOnce,
          buffer: { maxRecords: 5000, maxBytes: 8 * 1024 * 1024, maxAgeMs: 60_000 },
        },
      ],
    },
    'bench',
    {},
  );
  const sink = config.sinks[0];
  if (!sink || !isS3Sink(sink)) throw new Error('unreachable');
  return sink;
}

async function countObjects(s3: S3Client, bucket: string): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    count += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token);
  return count;
}

/**
 * What `exactlyOnce: true` costs the S3 sink: records/s through encode, batching, gzip and
 * upload to s3rver, with and without the mode, interleaved so both see the same load.
 */
export async function runExactlyOnceCost(
  options: ExactlyOnceCostOptions,
): Promise<ExactlyOnceCost> {
  const { rounds: ROUNDS, shards: SHARDS } = options;
  const s3rver = await startS3rver();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: s3rver.endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
  });
  const clients = createAwsClients({ region: 'us-east-1' });
  const input = events(options);
  const rates: Record<'default' | 'exactlyOnce', number[]> = { default: [], exactlyOnce: [] };
  const objects: Record<'default' | 'exactlyOnce', number> = { default: 0, exactlyOnce: 0 };
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const exactlyOnce of round % 2 === 0 ? [false, true] : [true, false]) {
        const bucket = `bench-${randomBytes(4).toString('hex')}`;
        await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
        const config = sinkConfig(bucket, exactlyOnce);
        const deps = {
          s3: clients.s3,
          layout: new KeyLayout({ ...config, sinkName: config.name }),
          encoder: new EventEncoder(config.format, false, csvShapeFor),
          deadLetter: null,
          metrics: createMetrics(),
          log: createLogger('silent'),
        };
        const sink: Sink = exactlyOnce
          ? new ExactlyOnceS3Sink(config, {
              ...deps,
              fingerprint: determinismFingerprint({ sink: config, decodeFormat: 'json' }),
            })
          : new S3Sink(config, deps);
        let acked = 0;
        const ack = { ack: () => (acked += 1) };
        const started = performance.now();
        for (let start = 0; start < input.length; start += PAGE) {
          for (const event of input.slice(start, start + PAGE)) sink.write(event, ack);
          const wait = sink.waitForCapacity();
          if (wait) await wait;
          await new Promise((resolve) => setImmediate(resolve));
        }
        for (let shard = 0; shard < SHARDS; shard += 1) sink.endOfShard?.(shardName(shard));
        await sink.close();
        const seconds = (performance.now() - started) / 1000;
        if (acked !== input.length) throw new Error(`acked ${acked} of ${input.length}`);
        const mode = exactlyOnce ? 'exactlyOnce' : 'default';
        rates[mode].push(input.length / seconds);
        objects[mode] = await countObjects(clients.s3, bucket);
      }
    }
  } finally {
    destroyAwsClients(clients);
    await s3rver.stop();
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;
  const medianDefault = median(rates.default);
  const medianExactlyOnce = median(rates.exactlyOnce);
  return {
    medianDefault,
    medianExactlyOnce,
    ratio: medianExactlyOnce / medianDefault,
    objects,
    recordsPerSecond: rates,
  };
}
