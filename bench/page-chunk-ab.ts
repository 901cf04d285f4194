/*
 * What a page-reading worker thread does with one GetRecords page (PageChunker.chunkPage:
 * read the body, decode, route, CSV-encode, gzip) in two builds, compared in one process,
 * rounds interleaved: the benchmark endpoint's 10,000-record page of 500-byte Pinpoint
 * events, read once over HTTP, into the bench relay's S3 sink (CSV, gzip, hourly). CPU per
 * page of this process, gzip on libuv's threads included. The two builds must answer the
 * page with the same chunk bytes before anything is timed.
 *
 *   npm run build && npx tsx bench/page-chunk-ab.ts <dist A> [dist B = dist] [rounds = 6]
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BenchKinesisEndpoint } from './kinesis-endpoint/server.js';

const [distA, distB = 'dist', roundsArg = '6'] = process.argv.slice(2);
if (!distA) throw new Error('usage: npx tsx bench/page-chunk-ab.ts <dist A> [dist B] [rounds]');
const rounds = Number(roundsArg);
const PAGES_PER_ROUND = 20;
const SHARD_ID = 'shardId-000000000000';

type ChunkPage = (body: ArrayBuffer) => Promise<readonly Uint8Array[]>;

async function buildOf(dist: string): Promise<ChunkPage> {
  const load = async <T>(path: string): Promise<T> =>
    (await import(pathToFileURL(join(resolve(dist), path)).href)) as T;
  const { validateConfig } = await load<typeof import('../src/config/load.js')>('config/load.js');
  const { decoderOptions } = await load<typeof import('../src/app-pipeline.js')>('app-pipeline.js');
  const { chunkerSpec } = await load<typeof import('../src/pipeline/workers/worker-spec.js')>(
    'pipeline/workers/worker-spec.js',
  );
  const { PageChunker } = await load<typeof import('../src/pipeline/workers/page-chunker.js')>(
    'pipeline/workers/page-chunker.js',
  );
  const config = validateConfig(
    {
      application: 'page-chunk-ab',
      stream: { name: 'bench' },
      decode: { format: 'auto' },
      sinks: [
        {
          name: 'archive',
          type: 's3',
          bucket: 'bench-bucket',
          format: 'csv',
          layout: 'hourly',
          compression: 'gzip',
          buffer: { maxRecords: 10_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 60_000 },
        },
      ],
    },
    'page-chunk-ab',
    {},
  );
  const spec = chunkerSpec(config.decode.format, decoderOptions(config), config.sinks, false);
  if (!spec) throw new Error(`${dist}: the sink does not take whole pages`);
  const chunker = new PageChunker(spec);
  return async (body) => {
    const answer = await chunker.chunkPage({
      body,
      streamName: 'bench',
      shardId: SHARD_ID,
      skipThrough: null,
    });
    if (!answer.parsed) throw new Error(`${dist}: the page was left to the SDK`);
    return answer.chunks.map((chunk) => chunk.body);
  };
}

/** One GetRecords body of the benchmark endpoint, as the relay receives it. */
async function recordedPage(): Promise<Uint8Array> {
  const endpoint = new BenchKinesisEndpoint({
    streamName: 'bench',
    shardCount: 1,
    recordsPerShard: 10_000,
    limits: false,
  });
  await endpoint.start();
  try {
    const call = async (target: string, body: unknown) => {
      const response = await fetch(endpoint.endpoint, {
        method: 'POST',
        headers: {
          'x-amz-target': `Kinesis_20131202.${target}`,
          'content-type': 'application/x-amz-json-1.1',
        },
        body: JSON.stringify(body),
      });
      return new Uint8Array(await response.arrayBuffer());
    };
    const iterator = JSON.parse(
      Buffer.from(
        await call('GetShardIterator', {
          StreamName: 'bench',
          ShardId: SHARD_ID,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      ).toString(),
    ) as { ShardIterator: string };
    return await call('GetRecords', { ShardIterator: iterator.ShardIterator, Limit: 10_000 });
  } finally {
    await endpoint.stop();
  }
}

/** A copy of the page for one call: chunkPage takes its body over (and frees it). */
function bodyOf(page: Uint8Array): ArrayBuffer {
  const body = new ArrayBuffer(page.byteLength);
  new Uint8Array(body).set(page);
  return body;
}

const page = await recordedPage();
const builds = [
  { name: `A ${distA}`, chunk: await buildOf(distA), cpuMs: [] as number[] },
  { name: `B ${distB}`, chunk: await buildOf(distB), cpuMs: [] as number[] },
];
const [a, b] = await Promise.all(builds.map((build) => build.chunk(bodyOf(page))));
if (
  a?.length !== b?.length ||
  (a ?? []).some((chunk, index) => !Buffer.from(chunk).equals(b?.[index] ?? new Uint8Array()))
) {
  throw new Error('the two builds answer the page with different chunks');
}
for (let round = 1; round <= rounds; round += 1) {
  for (const build of builds) {
    const before = process.cpuUsage();
    for (let index = 0; index < PAGES_PER_ROUND; index += 1) await build.chunk(bodyOf(page));
    const used = process.cpuUsage(before);
    build.cpuMs.push((used.user + used.system) / 1000 / PAGES_PER_ROUND);
  }
}
const median = (values: readonly number[]) =>
  [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? Number.NaN;
for (const build of builds) {
  console.log(
    `${build.name}: ${median(build.cpuMs).toFixed(1)} CPU-ms per ${page.byteLength}-byte page (median of ${rounds} rounds of ${PAGES_PER_ROUND})`,
  );
}
console.log(`B ÷ A: ${(median(builds[1]!.cpuMs) / median(builds[0]!.cpuMs)).toFixed(3)}`);
