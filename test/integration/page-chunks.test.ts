import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { RecordPosition, UserRecord } from '../../src/core/record.js';
import { createDecoder, csvShapeFor } from '../../src/decode/index.js';
import { PINPOINT_APP_EVENT, AIRSHIP_LOCATION } from '../../src/decode/fixtures/samples.js';
import { kplAggregate } from '../../src/demo/producer.js';
import { appendUserRecords } from '../../src/kinesis/deaggregate.js';
import { parseGetRecordsBody } from '../../src/kinesis/get-records-body.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics, sinkDeadLetterCounter } from '../../src/observability/metrics.js';
import { createRouter } from '../../src/app-pipeline.js';
import { ShardPipeline } from '../../src/pipeline/shard-pipeline.js';
import { DecodePool } from '../../src/pipeline/workers/decode-pool.js';
import { decodeWorkerSpec } from '../../src/pipeline/workers/worker-spec.js';
import { createSinks } from '../../src/sinks/create-sinks.js';
import { CollectedDeadLetters } from '../support/events.js';
import { readObjects } from '../support/s3-reader.js';
import { useS3rver } from '../support/s3rver.js';

/*
 * Whole pages on a worker thread (consumer.workerThreads with only S3 text sinks and no
 * deadLetter): the same GetRecords bodies through the real S3 sinks on s3rver, once record
 * by record on the main thread and once as chunks made in a thread, must store the same
 * rows under the same directories, dead-letter the same records, and end at the same
 * checkpoint. Objects may be cut at other rows: a page's chunk starts the next object
 * rather than take one past maxRecords, so every object still holds at most maxRecords.
 */

const BUCKET = 'chunks';
const storage = useS3rver();
const SHARD = 'shardId-000000000002';
const STREAM = 'engagement-events';
const HOUR = 3_600_000;
const BASE = Date.UTC(2024, 2, 1, 12, 59, 57);
const sequence = (n: number) => String(49_100_000_000_000n + BigInt(n));

beforeAll(() => storage.createBucket(BUCKET), 60_000);

let pool: DecodePool | null = null;
afterEach(async () => {
  await pool?.close();
  pool = null;
});

/** Three pages: Pinpoint and Airship events, a poison record, KPL, an hour boundary. */
function bodies(): Buffer[] {
  let n = 0;
  const record = (data: string | Uint8Array, arrivalMs = BASE) => ({
    SequenceNumber: sequence((n += 1)),
    ApproximateArrivalTimestamp: arrivalMs / 1000,
    Data: Buffer.from(data).toString('base64'),
    PartitionKey: `pk-${n % 3}`,
  });
  const pinpoint = (i: number) =>
    JSON.stringify({ ...PINPOINT_APP_EVENT, attributes: { i: String(i), q: 'a,"b"\nc é' } });
  const page = (records: unknown[]) =>
    Buffer.from(
      JSON.stringify({ Records: records, NextShardIterator: 'it', MillisBehindLatest: 0 }),
    );
  const aggregate = kplAggregate(
    [pinpoint(100), 'not json', JSON.stringify(AIRSHIP_LOCATION)].map((text, i) => ({
      partitionKey: `agg-${i}`,
      data: Buffer.from(text),
    })),
  ).data;
  return [
    page([
      ...Array.from({ length: 7 }, (_, i) => record(pinpoint(i))),
      record('{"broken'),
      record(JSON.stringify(AIRSHIP_LOCATION)),
    ]),
    page([record(aggregate), ...Array.from({ length: 6 }, (_, i) => record(pinpoint(10 + i)))]),
    page(Array.from({ length: 9 }, (_, i) => record(pinpoint(20 + i), BASE + (i > 3 ? HOUR : 0)))),
  ];
}

interface Outcome {
  readonly rows: Map<string, string[]>;
  readonly rowsPerObject: number[];
  readonly deadLettered: string[];
  readonly checkpoint: RecordPosition | null;
}

async function run(prefix: string, wholePages: boolean): Promise<Outcome> {
  const config = validateConfig(
    {
      application: `chunks-${prefix}`,
      stream: { name: STREAM },
      consumer: { workerThreads: wholePages ? 1 : 0 },
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
          compression: 'none',
          layout: '{format}/{eventType}/{yyyy}/{HH}/',
          buffer: { maxRecords: 1000, maxBytes: 1_000_000, maxAgeMs: 600_000 },
        },
      ],
    },
    'test',
    {},
  );
  const log = createLogger('silent');
  const metrics = createMetrics();
  const sinkSet = createSinks(config, { s3: storage.clients.s3, csvShapeFor, metrics, log });
  const deadLetter = new CollectedDeadLetters();
  if (wholePages) {
    const spec = decodeWorkerSpec(
      config.decode.format,
      { streamInIds: false },
      config.sinks,
      config.deadLetter !== null,
    );
    if (!spec?.chunks) throw new Error('these sinks take whole pages');
    pool = new DecodePool({ threads: 1, spec, log });
  }
  const pipeline = new ShardPipeline(
    createDecoder(config.decode.format),
    createRouter(sinkSet),
    deadLetter,
    pool,
    sinkDeadLetterCounter(metrics),
  );
  try {
    for (const body of bodies()) {
      const chunkPage = pipeline.chunkPage;
      if (wholePages) {
        if (!chunkPage) throw new Error('the pipeline reads whole pages');
        const page = await chunkPage({
          body: new Uint8Array(body).buffer,
          streamName: STREAM,
          shardId: SHARD,
          skipThrough: null,
        });
        if (!page.parsed) throw new Error('the page was not parsed');
        await pipeline.processPage(SHARD, page);
      } else {
        expect(chunkPage).toBeUndefined();
        const records: UserRecord[] = [];
        for (const record of parseGetRecordsBody(body)?.Records ?? []) {
          appendUserRecords(record, STREAM, SHARD, records);
        }
        await pipeline.process(records);
      }
    }
    for (const { sink } of sinkSet.sinks) await sink.flush();
    await pipeline.drained();
  } finally {
    for (const { sink } of sinkSet.sinks) await sink.close();
    await sinkSet.deadLetter.close();
  }
  const rows = new Map<string, string[]>();
  const rowsPerObject: number[] = [];
  for (const object of await readObjects(storage.clients.s3, BUCKET, `${prefix}/`)) {
    const directory = object.key.slice(prefix.length, object.key.lastIndexOf('/') + 1);
    const lines = splitRows(object.text, object.key.includes('/csv/'));
    rowsPerObject.push(lines.length);
    rows.set(directory, [...(rows.get(directory) ?? []), ...lines].sort());
  }
  return {
    rows,
    rowsPerObject,
    deadLettered: deadLetter.entries.map(
      (entry) => `${entry.sequenceNumber}/${entry.subSequenceNumber} ${entry.reason}`,
    ),
    checkpoint: pipeline.checkpointable(),
  };
}

/** An object's rows, its CSV header checked and left out (cells may hold line feeds). */
function splitRows(text: string, csv: boolean): string[] {
  const rows: string[] = [];
  let row = '';
  let quoted = false;
  for (const char of text) {
    row += char;
    if (char === '"') quoted = !quoted;
    else if (char === '\n' && !quoted) {
      rows.push(row);
      row = '';
    }
  }
  expect(row).toBe('');
  if (csv) expect(rows.shift()).toMatch(/^[A-Za-z_]+(,[A-Za-z_]+)+\n$/);
  return rows;
}

describe('whole pages on a worker thread (PageChunker → ShardPipeline.processPage → S3Sink.writeChunk)', () => {
  it('store the rows the record-by-record path stores, under the same directories, with the same dead letters and checkpoint', async () => {
    const records = await run('records', false);
    const pages = await run('pages', true);

    // Not trivially equal: several directories (hours, shapes, event types), cut objects.
    expect(records.rows.size).toBeGreaterThanOrEqual(4);
    expect(records.deadLettered).toEqual([
      `${sequence(8)}/0 decode_failed`,
      `${sequence(10)}/1 decode_failed`,
    ]);
    expect(records.checkpoint).toEqual({ sequenceNumber: sequence(25), subSequenceNumber: 0 });

    expect(pages.rows).toEqual(records.rows);
    expect(pages.deadLettered).toEqual(records.deadLettered);
    expect(pages.checkpoint).toEqual(records.checkpoint);
    // A chunk starts the next object rather than take one past the CSV sink's maxRecords.
    expect(Math.max(...pages.rowsPerObject)).toBeLessThanOrEqual(1000);
    const csvObjects = await readObjects(storage.clients.s3, BUCKET, 'pages/csv/');
    for (const object of csvObjects) {
      expect(splitRows(object.text, true).length).toBeLessThanOrEqual(5);
    }
  });

  it('acknowledge a page as one: its checkpoint moves once every chunk of it is stored', async () => {
    const config = validateConfig(
      {
        application: 'chunks-ack',
        stream: { name: STREAM },
        consumer: { workerThreads: 1 },
        sinks: [
          {
            name: 'csv',
            type: 's3',
            bucket: BUCKET,
            prefix: 'ack/',
            format: 'csv',
            layout: 'hourly',
            buffer: { maxRecords: 1000, maxBytes: 1_000_000, maxAgeMs: 600_000 },
          },
        ],
      },
      'test',
      {},
    );
    const log = createLogger('silent');
    const metrics = createMetrics();
    const sinkSet = createSinks(config, { s3: storage.clients.s3, csvShapeFor, metrics, log });
    const spec = decodeWorkerSpec('auto', { streamInIds: false }, config.sinks, false);
    pool = new DecodePool({ threads: 1, spec: spec!, log });
    const pipeline = new ShardPipeline(
      createDecoder('auto'),
      createRouter(sinkSet),
      new CollectedDeadLetters(),
      pool,
      sinkDeadLetterCounter(metrics),
    );
    try {
      const [first] = bodies();
      const page = await pipeline.chunkPage!({
        body: new Uint8Array(first!).buffer,
        streamName: STREAM,
        shardId: SHARD,
        skipThrough: null,
      });
      if (!page.parsed) throw new Error('the page was not parsed');
      await pipeline.processPage(SHARD, page);
      // Its events wait in an open batch (maxAgeMs 10 min): nothing is acknowledged yet.
      expect(pipeline.checkpointable()).toBeNull();
      await sinkSet.sinks[0]!.sink.flush();
      expect(pipeline.checkpointable()).toEqual({
        sequenceNumber: sequence(9),
        subSequenceNumber: 0,
      });
      const stored = await readObjects(storage.clients.s3, BUCKET, 'ack/');
      expect(stored.flatMap((object) => splitRows(object.text, true))).toHaveLength(8);
    } finally {
      await sinkSet.sinks[0]!.sink.close();
      await sinkSet.deadLetter.close();
    }
  });
});
