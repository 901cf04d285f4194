import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { isS3Sink } from '../../src/config/schema.js';
import type { AckHandle } from '../../src/core/ack.js';
import type { RelayEvent } from '../../src/core/event.js';
import { positionOf, type RecordPosition, type UserRecord } from '../../src/core/record.js';
import { createDecoder, csvShapeFor } from '../../src/decode/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { Router } from '../../src/pipeline/router.js';
import { ShardPipeline } from '../../src/pipeline/shard-pipeline.js';
import { determinismFingerprint } from '../../src/sinks/s3/config-fingerprint.js';
import { EventEncoder } from '../../src/sinks/s3/event-encoder.js';
import { ExactlyOnceS3Sink } from '../../src/sinks/s3/exactly-once-sink.js';
import { KeyLayout } from '../../src/sinks/s3/key-layout.js';
import type { DeadLetterSink, Sink } from '../../src/sinks/sink.js';
import { useS3rver } from '../support/s3rver.js';
import { uniqueName } from '../support/stack.js';

const SHARD = 'shardId-000000000000';
const T0 = Date.parse('2026-01-02T03:00:00Z');
/** 1,000 records 50 ms apart: 200 per 10-second window, cut by count (120) inside each. */
const RECORDS: UserRecord[] = Array.from({ length: 1000 }, (_, n) => ({
  streamName: 'handover',
  shardId: SHARD,
  sequenceNumber: String(49_600_000_000_000_000_000n + BigInt(n) * 10n),
  subSequenceNumber: 0,
  partitionKey: `key-${n}`,
  aggregated: false,
  approximateArrivalTimestamp: new Date(T0 + n * 50),
  data: Buffer.from(JSON.stringify({ n, payload: `record ${n}` })),
}));

const after = (position: RecordPosition): UserRecord[] =>
  RECORDS.filter((record) => BigInt(record.sequenceNumber) > BigInt(position.sequenceNumber));

/** A second destination that holds back the acknowledgement of chosen records. */
class LaggingSink implements Sink {
  readonly name = 'lagging';
  readonly held: AckHandle[] = [];
  constructor(private readonly hold: ReadonlySet<number>) {}
  write(event: RelayEvent, ack: AckHandle): void {
    const { n } = event.original as { n: number };
    if (this.hold.has(n)) this.held.push(ack);
    else ack.ack();
  }
  waitForCapacity(): undefined {
    return undefined;
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

const noDeadLetters: DeadLetterSink = {
  write: () => {
    throw new Error('no record of this test is undecodable');
  },
  waitForCapacity: () => undefined,
  flush: async () => undefined,
  close: async () => undefined,
};

describe('exactly-once S3 across a lease handover', () => {
  const storage = useS3rver();

  async function bucket(): Promise<string> {
    const name = uniqueName('handover');
    await storage.createBucket(name);
    return name;
  }

  function worker(bucketName: string, hold: number[] = []) {
    const config = validateConfig(
      {
        application: 'handover',
        stream: { name: 'handover' },
        sinks: [
          {
            name: 'archive',
            type: 's3',
            bucket: bucketName,
            exactlyOnce: true,
            buffer: { maxRecords: 120, maxBytes: 1_048_576, maxAgeMs: 10_000 },
          },
        ],
      },
      'test',
      {},
    );
    const sinkConfig = config.sinks[0];
    if (!sinkConfig || !isS3Sink(sinkConfig)) throw new Error('unreachable');
    const sink = new ExactlyOnceS3Sink(sinkConfig, {
      s3: storage.clients.s3,
      layout: new KeyLayout({ ...sinkConfig, sinkName: sinkConfig.name }),
      encoder: new EventEncoder(sinkConfig.format, false, csvShapeFor),
      fingerprint: determinismFingerprint({ sink: sinkConfig, decodeFormat: 'json' }),
      deadLetter: null,
      metrics: createMetrics(),
      log: createLogger('silent'),
    });
    const lagging = new LaggingSink(new Set(hold));
    const router = new Router([
      { sink, eventTypes: [], formats: [] },
      { sink: lagging, eventTypes: [], formats: [] },
    ]);
    const pipeline = new ShardPipeline(
      createDecoder('json'),
      router,
      noDeadLetters,
      null,
      () => undefined,
    );
    return { sink, lagging, pipeline };
  }

  /** key -> raw bytes, and how often each record number occurs. */
  async function contents(bucketName: string) {
    const objects = new Map<string, Buffer>();
    const page = await storage.clients.s3.send(new ListObjectsV2Command({ Bucket: bucketName }));
    for (const entry of page.Contents ?? []) {
      const object = await storage.clients.s3.send(
        new GetObjectCommand({ Bucket: bucketName, Key: entry.Key }),
      );
      objects.set(entry.Key ?? '', Buffer.from(await object.Body!.transformToByteArray()));
    }
    const counts = new Map<number, number>();
    const lastOfObject: string[] = [];
    for (const bytes of objects.values()) {
      const lines = gunzipSync(bytes).toString('utf8').split('\n').filter(Boolean);
      for (const line of lines) {
        const { original } = JSON.parse(line) as { original: { n: number } };
        counts.set(original.n, (counts.get(original.n) ?? 0) + 1);
      }
      const last = JSON.parse(lines[lines.length - 1] ?? '{}') as {
        kinesis: { sequence_number: string };
      };
      lastOfObject.push(last.kinesis.sequence_number);
    }
    return { objects, counts, lastOfObject };
  }

  async function readToEnd(from: UserRecord[], target: ReturnType<typeof worker>) {
    await target.pipeline.process(from);
    target.pipeline.endOfShard();
    await target.sink.close();
  }

  it('a checkpoint held inside an object by another destination moves back to the object before; the next owner rewrites the same objects', async () => {
    const reference = await bucket();
    await readToEnd(RECORDS, worker(reference));
    const clean = await contents(reference);

    const handedOver = await bucket();
    // Worker A reads 600 records; the other destination still owes record 250's ack.
    const a = worker(handedOver, [250]);
    await a.pipeline.process(RECORDS.slice(0, 600));
    await a.sink.flush();
    const checkpoint = a.pipeline.checkpointable();
    // Acknowledged through record 249, inside the object [200..319]: held at its start.
    expect(checkpoint).toEqual(positionOf(RECORDS[199]!));
    expect(clean.lastOfObject).toContain(checkpoint?.sequenceNumber);
    // A loses the lease mid-object: its open segment [520..599] is dropped unwritten.
    a.pipeline.release();
    await a.sink.close();

    // B takes the lease and resumes after the checkpoint A wrote.
    await readToEnd(after(checkpoint!), worker(handedOver));
    const result = await contents(handedOver);
    expect([...result.objects.keys()].sort()).toEqual([...clean.objects.keys()].sort());
    for (const [key, bytes] of clean.objects)
      expect(result.objects.get(key)?.equals(bytes)).toBe(true);
    expect(result.counts.size).toBe(1000);
    expect([...result.counts.values()].every((count) => count === 1)).toBe(true);
  });

  it('a foreign checkpoint inside an object (checkpoint set, another consumer) costs duplicates only up to the next record-time window', async () => {
    const target = await bucket();
    const a = worker(target);
    await a.pipeline.process(RECORDS.slice(0, 600));
    await a.sink.flush();
    a.pipeline.release();
    await a.sink.close();

    // Resume after record 249, inside [200..319], as a checkpoint not written by this mode.
    await readToEnd(after(RECORDS[249]!), worker(target));
    const { counts } = await contents(target);
    expect(counts.size).toBe(1000);
    const twice = [...counts].filter(([, count]) => count > 1).map(([n]) => n);
    // Written again: 250 up to the end of its 10-second window (record 399); from record 400
    // on the new reader cuts where the first one did and rewrites the same keys.
    expect(twice.sort((x, y) => x - y)).toEqual(Array.from({ length: 150 }, (_, i) => 250 + i));
  });
});
