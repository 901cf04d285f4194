/*
 * The in-process pipeline alone, in its own process, on the published build (dist/):
 * the relay's ShardPipeline with the `auto` decoder and the real router hands 500-byte
 * Pinpoint events to a sink that does the S3 sink's per-event and per-object work minus
 * the upload: each event encoded as a CSV line into an ObjectBatch that gzips its lines
 * as they arrive (S3Sink at `compression: gzip`), an object body every 50,000 events. No
 * network. BENCH_DEAD_LETTER=1: as with a dead-letter destination configured, the batch
 * also keeps each record's bytes for an entry (the default config has none). Prints
 * {records, cpuSeconds}; records per CPU second (zlib's thread included) is the per-core
 * rate.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AckHandle } from '../../src/core/ack.js';
import type { RelayEvent } from '../../src/core/event.js';
import type { UserRecord } from '../../src/core/record.js';
import type { Sink } from '../../src/sinks/sink.js';
import { pinpointEventBytes } from '../lib/pinpoint-records.js';

const DIST = join(import.meta.dirname, '..', '..', process.env.BENCH_DIST ?? 'dist');
async function load<T>(path: string): Promise<T> {
  return (await import(pathToFileURL(join(DIST, path)).href)) as T;
}
const { createDecoder, csvShapeFor } =
  await load<typeof import('../../src/decode/index.js')>('decode/index.js');
const { Router } = await load<typeof import('../../src/pipeline/router.js')>('pipeline/router.js');
const { ShardPipeline } = await load<typeof import('../../src/pipeline/shard-pipeline.js')>(
  'pipeline/shard-pipeline.js',
);
const { EventEncoder, csvLine } = await load<typeof import('../../src/sinks/s3/event-encoder.js')>(
  'sinks/s3/event-encoder.js',
);
const objectWriter = await load<Partial<typeof import('../../src/sinks/s3/object-writer.js')>>(
  'sinks/s3/object-writer.js',
);
type Batch = InstanceType<typeof ObjectBatch>;
/** The object body as the build under test writes it (a --baseline build may predate plainBody). */
const bodyOf: (batch: Batch) => Buffer =
  objectWriter.plainBody ?? ((batch) => Buffer.concat(batch.items as unknown as Buffer[]));
const { ObjectBatch } =
  await load<typeof import('../../src/sinks/s3/batch.js')>('sinks/s3/batch.js');
const { KeyLayout } =
  await load<typeof import('../../src/sinks/s3/key-layout.js')>('sinks/s3/key-layout.js');

const total = Number(process.env.BENCH_RECORDS ?? 200_000);
const keepRecords = process.env.BENCH_DEAD_LETTER === '1';
const batchRecords = 50_000;
const pageRecords = 10_000;

/** The S3 sink's per-event and per-object work, minus the upload. */
class GzipBatchSink implements Sink {
  readonly name = 'bench';
  private readonly encoder = new EventEncoder('csv', false, csvShapeFor);
  private readonly layout = new KeyLayout({
    layout: 'hourly',
    sinkName: 'bench',
    prefix: '',
    compression: 'gzip',
  });
  private batch: Batch | null = null;
  /** Object bodies being finished (zlib works on libuv's threads). */
  private readonly cuts: Promise<void>[] = [];
  compressedBytes = 0;

  write(event: RelayEvent, ack: AckHandle): void {
    const encoded = this.encoder.encode(event);
    const directory = this.layout.directory(event, encoded.kind);
    // A build older than the gzip-as-it-goes batch ignores the last two arguments and
    // keeps its lines; `cut` then gzips them at the end, as that build's sink did.
    this.batch ??= new ObjectBatch(
      directory,
      encoded.kind,
      encoded.shape,
      new Date(),
      0,
      encoded.shape ? csvLine(encoded.shape.header) : '',
      6, // the sink's default gzipLevel
    );
    // Builds before `bytes` encoded lines as Buffers, which byteLength measures too.
    const bytes = (encoded.bytes as number | undefined) ?? Buffer.byteLength(encoded.line);
    this.batch.add(encoded.line, bytes, event.record, ack, keepRecords);
    if (this.batch.size >= batchRecords) this.cuts.push(this.cut());
  }

  async cut(): Promise<void> {
    const batch = this.batch;
    if (!batch) return;
    this.batch = null;
    const streamed = (await batch.streamedBody?.()) ?? null;
    const body = streamed ?? gzipSync(bodyOf(batch));
    this.compressedBytes += body.byteLength;
    for (const ack of batch.acks) ack.ack();
  }

  waitForCapacity(): undefined {
    return undefined;
  }
  async flush(): Promise<void> {
    this.cuts.push(this.cut());
    await Promise.all(this.cuts.splice(0));
  }
  async close(): Promise<void> {}
}

const arrival = new Date();
const records: UserRecord[] = Array.from({ length: pageRecords }, (_, i) => ({
  streamName: 'bench',
  shardId: 'shardId-000000000000',
  sequenceNumber: `4965711043293017581233615071651234560000000000${String(i).padStart(10, '0')}`,
  subSequenceNumber: 0,
  partitionKey: `device-${i % 4096}`,
  aggregated: false,
  approximateArrivalTimestamp: arrival,
  data: new Uint8Array(pinpointEventBytes(i, arrival.getTime() - 300)),
}));

const sink = new GzipBatchSink();
const deadLetter = {
  write: () => {
    throw new Error('a benchmark record was dead-lettered');
  },
  waitForCapacity: () => undefined,
  flush: async () => undefined,
  close: async () => undefined,
};
const pipeline = new ShardPipeline(
  createDecoder('auto'),
  new Router([{ sink, eventTypes: [], formats: [] }]),
  deadLetter,
  null,
  () => undefined,
);

// Warm up (JIT), then measure.
await pipeline.process(records);
await sink.flush();
const before = process.cpuUsage();
const started = performance.now();
for (let done = 0; done < total; done += pageRecords) await pipeline.process(records);
await sink.flush();
const usage = process.cpuUsage(before);
console.log(
  JSON.stringify({
    records: total,
    cpuSeconds: (usage.user + usage.system) / 1e6,
    wallSeconds: (performance.now() - started) / 1000,
    compressedBytes: sink.compressedBytes,
  }),
);
