/*
 * Where a page's CPU goes with consumer.workerThreads, in one process on the published
 * build (dist/): per record, the main thread's share (pack the page, unpack the answer)
 * against the work that moves to a worker (decode, CSV line, directory), and against the
 * main-thread path doing both (decode + encode). 500-byte Pinpoint events, 10,000-record
 * pages, one S3 CSV sink. No threads are started: each part is timed where it would run.
 *
 *   npm run build && npx tsx bench/thread-split.ts [records]
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { UserRecord } from '../src/core/record.js';
import { pinpointEventBytes } from './lib/pinpoint-records.js';

const DIST = join(import.meta.dirname, '..', 'dist');
async function load<T>(path: string): Promise<T> {
  return (await import(pathToFileURL(join(DIST, path)).href)) as T;
}
const { createDecoder, csvShapeFor } =
  await load<typeof import('../src/decode/index.js')>('decode/index.js');
const { EventEncoder } = await load<typeof import('../src/sinks/s3/event-encoder.js')>(
  'sinks/s3/event-encoder.js',
);
const { KeyLayout } =
  await load<typeof import('../src/sinks/s3/key-layout.js')>('sinks/s3/key-layout.js');
const { packPage, unpackResults } = await load<
  typeof import('../src/pipeline/workers/page-codec.js')
>('pipeline/workers/page-codec.js');
const { PageDecoder } = await load<typeof import('../src/pipeline/workers/page-decoder.js')>(
  'pipeline/workers/page-decoder.js',
);

const total = Number(process.argv[2] ?? 200_000);
const pageRecords = 10_000;
const layout = { layout: 'hourly', sinkName: 'bench', prefix: '', compression: 'gzip' } as const;

function page(from: number): UserRecord[] {
  return Array.from({ length: pageRecords }, (_, i) => ({
    streamName: 'bench',
    shardId: 'shardId-000000000000',
    sequenceNumber: String(49_000_000_000_000n + BigInt(from + i)),
    subSequenceNumber: 0,
    partitionKey: `pk-${(from + i) % 1000}`,
    aggregated: false,
    approximateArrivalTimestamp: new Date(1_733_000_000_000 + from + i),
    data: new Uint8Array(pinpointEventBytes(from + i, 1_733_000_000_000 + from + i - 300)),
  }));
}

const pages = Array.from({ length: Math.ceil(total / pageRecords) }, (_, n) =>
  page(n * pageRecords),
);
const decoder = createDecoder('auto');
const encoder = new EventEncoder('csv', false, csvShapeFor);
const keys = new KeyLayout({ ...layout, resolveShape: csvShapeFor });
const worker = new PageDecoder({
  decodeFormat: 'auto',
  streamInIds: false,
  sinks: [
    {
      filter: { eventTypes: [], formats: [] },
      encoding: {
        type: 's3',
        format: 'csv',
        verbatimJson: false,
        layout,
      },
    },
  ],
});

function cpuMicros(run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

let sink = 0;
for (let round = 0; round < 3; round += 1) {
  const mainThread = cpuMicros(() => {
    for (const records of pages) {
      for (const record of records) {
        const result = decoder.decode(record);
        if (!result.ok) continue;
        for (const event of result.events) {
          const encoded = encoder.encode(event);
          sink += encoded.bytes + keys.directory(event, encoded.kind).length;
        }
      }
    }
  });
  const packed: ArrayBuffer[] = [];
  const pack = cpuMicros(() => {
    for (const records of pages) packed.push(packPage(records));
  });
  const answers: ArrayBuffer[] = [];
  const inWorker = cpuMicros(() => {
    for (const message of packed) answers.push(worker.decodePage(message));
  });
  let decoded = 0;
  const unpack = cpuMicros(() => {
    for (const answer of answers) {
      for (const result of unpackResults(answer)) if (result.ok) decoded += result.events.length;
    }
  });
  if (decoded !== total) throw new Error(`${decoded} of ${total} records decoded`);
  const per = (micros: number) => (micros / total).toFixed(2);
  console.log(
    `round ${round + 1}: main thread alone ${per(mainThread)} µs/record; with workers: main ${per(pack + unpack)} (pack ${per(pack)}, unpack ${per(unpack)}), worker ${per(inWorker)}`,
  );
}
if (sink < 0) console.log(sink);
