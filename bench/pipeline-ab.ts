/*
 * Two builds of the relay's per-record path compared in one process, rounds interleaved,
 * so a neighbour's load on a shared machine hits both alike: GetRecords bodies of the bench
 * endpoint read by the build's own reader, user records, the ShardPipeline (`auto`), the
 * real S3 sink (CSV, gzip, `hourly`, objects of 10,000 records) with an S3 client whose
 * HTTP handler answers at once. No network, no leases, no metrics scrapes: the CPU per
 * record of the relay's own work (gzip included: libuv's threads count in process CPU).
 *
 *   npm run build && npx tsx bench/pipeline-ab.ts <dist A> [dist B = dist] [rounds = 6]
 *   (a baseline build: `git worktree add /tmp/base <ref> && cd /tmp/base && npm run build`,
 *   or bench/.baseline/dist after `npm run bench -- --baseline <ref>`)
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { HttpHandler } from '@smithy/core/protocols';
import { HttpResponse } from '@smithy/core/transport';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { UserRecord } from '../src/core/record.js';
import { buildTemplate, recordPieces } from './kinesis-endpoint/record-template.js';

const [distA, distB = 'dist', roundsArg = '6'] = process.argv.slice(2);
if (!distA) throw new Error('usage: npx tsx bench/pipeline-ab.ts <dist A> [dist B] [rounds]');
const rounds = Number(roundsArg);
const SHARDS = 16;
const PAGE = 10_000;
const PER_ROUND = 200_000;

const template = buildTemplate(2 * PAGE, 500, Date.now());
const bodies = [0, 1].map((page) =>
  Buffer.concat([
    Buffer.from('{"Records":['),
    ...recordPieces(template, page * PAGE, (page + 1) * PAGE),
    Buffer.from('],"NextShardIterator":"AAAA","MillisBehindLatest":1000}'),
  ]),
);

/** An S3 client that accepts every request at once (the SDK's own work still runs). */
function acceptingS3(): S3Client {
  const handler = {
    handle: async () => ({
      response: new HttpResponse({
        statusCode: 200,
        headers: { etag: '"bench"' },
        body: Readable.from([]),
      }),
    }),
  } as unknown as HttpHandler;
  return new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: handler,
  });
}

/** The per-record path of one build, as a function that pushes `records` through it. */
async function pathOf(dist: string): Promise<(records: number) => Promise<void>> {
  const load = async <T>(path: string): Promise<T> =>
    (await import(pathToFileURL(join(resolve(dist), path)).href)) as T;
  const { parseGetRecordsBody } = await load<typeof import('../src/kinesis/get-records-body.js')>(
    'kinesis/get-records-body.js',
  );
  const { appendUserRecords } =
    await load<typeof import('../src/kinesis/deaggregate.js')>('kinesis/deaggregate.js');
  const { createDecoder, csvShapeFor } =
    await load<typeof import('../src/decode/index.js')>('decode/index.js');
  const { ShardPipeline } = await load<typeof import('../src/pipeline/shard-pipeline.js')>(
    'pipeline/shard-pipeline.js',
  );
  const { Router } = await load<typeof import('../src/pipeline/router.js')>('pipeline/router.js');
  const { createSinks } =
    await load<typeof import('../src/sinks/create-sinks.js')>('sinks/create-sinks.js');
  const { validateConfig } = await load<typeof import('../src/config/load.js')>('config/load.js');
  const { createMetrics } = await load<typeof import('../src/observability/metrics.js')>(
    'observability/metrics.js',
  );
  const { createLogger } =
    await load<typeof import('../src/observability/logger.js')>('observability/logger.js');
  const { processMemoryBudget } =
    await load<typeof import('../src/core/memory-budget.js')>('core/memory-budget.js');

  const config = validateConfig(
    {
      application: 'pipeline-ab',
      stream: { name: 'bench', initialPosition: 'TRIM_HORIZON' },
      decode: { format: 'auto' },
      sinks: [
        {
          name: 'archive',
          type: 's3',
          bucket: 'bench-archive',
          prefix: 'ab/',
          format: 'csv',
          layout: 'hourly',
          compression: 'gzip',
          buffer: { maxRecords: 10_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 60_000 },
        },
      ],
    },
    'pipeline-ab',
    {},
  );
  const metrics = createMetrics();
  const sinkSet = createSinks(config, {
    s3: acceptingS3(),
    csvShapeFor,
    metrics,
    log: createLogger('error'),
    memory: processMemoryBudget(config.memory.limitBytes, metrics),
  });
  const router = new Router(
    sinkSet.sinks.map(({ sink, config: sinkConfig }) => ({
      sink,
      eventTypes: sinkConfig.filter.eventTypes,
      formats: sinkConfig.filter.formats,
      streams: sinkConfig.filter.streams,
    })),
  );
  const pipelines = Array.from(
    { length: SHARDS },
    () =>
      new ShardPipeline(createDecoder('auto'), router, sinkSet.deadLetter, null, () => undefined),
  );
  return async (records) => {
    for (let page = 0; page * PAGE < records; page += 1) {
      const shard = page % SHARDS;
      const body = parseGetRecordsBody(bodies[page % bodies.length] ?? Buffer.alloc(0));
      if (!body?.Records) throw new Error('the reader refused a bench page');
      const userRecords: UserRecord[] = [];
      const shardId = `shardId-${String(shard).padStart(12, '0')}`;
      for (const record of body.Records) appendUserRecords(record, 'bench', shardId, userRecords);
      await pipelines[shard]?.process(userRecords);
      // As between GetRecords calls: uploads and gzip callbacks get their turn.
      await new Promise((next) => setImmediate(next));
    }
    for (const { sink } of sinkSet.sinks) await sink.flush();
  };
}

const paths = { A: await pathOf(distA), B: await pathOf(distB) };
await paths.A(PER_ROUND / 2); // JIT warm-up
await paths.B(PER_ROUND / 2);
const micros: Record<'A' | 'B', number[]> = { A: [], B: [] };
for (let round = 0; round < rounds; round += 1) {
  for (const build of round % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
    const start = process.cpuUsage();
    await paths[build](PER_ROUND);
    const used = process.cpuUsage(start);
    micros[build].push((used.user + used.system) / PER_ROUND);
  }
}
const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const ratios = micros.A.map((a, index) => (micros.B[index] ?? Number.NaN) / a);
for (const build of ['A', 'B'] as const) {
  const dist = build === 'A' ? distA : distB;
  const runs = micros[build].map((value) => value.toFixed(1)).join(' ');
  console.log(`${build} ${dist}: ${median(micros[build]).toFixed(2)} µs CPU per record (${runs})`);
}
console.log(
  `B ÷ A: median ${median(ratios).toFixed(3)} (per round ${ratios.map((r) => r.toFixed(2)).join(' ')})`,
);
process.exit(0);
