/**
 * Parquet vs CSV gzip on the bench's 500-byte Pinpoint events, the relay as its own process
 * (built dist/, as `npm run bench` runs it): records/s, CPU per core, peak RSS, and bytes per
 * record on S3. `npm run build && npx tsx bench/parquet.ts [records] [runs] [shards]`.
 */
import { BenchKinesisEndpoint } from './kinesis-endpoint/server.js';
import { median, round } from './lib/stats.js';
import { OUTPUT_VARIANTS, runOutputVariant, type OutputSample } from './scenarios/parquet.js';
import { startRelayStack } from './scenarios/relay.js';

const records = Number(process.argv[2] ?? 200_000);
const runs = Number(process.argv[3] ?? 3);
const shards = Number(process.argv[4] ?? 4);

const stack = await startRelayStack();
const s3Directory = (stack.s3 as { directory?: string }).directory;
if (!s3Directory) throw new Error('s3rver directory unknown');
const endpoint = new BenchKinesisEndpoint({
  streamName: `bench-parquet-${shards}`,
  shardCount: shards,
  recordsPerShard: Math.ceil(records / shards),
});
await endpoint.start();
const samples = new Map<string, OutputSample[]>();
try {
  // Interleaved, so a neighbour's load on the shared CPU hits every variant alike.
  for (let run = 1; run <= runs; run += 1) {
    for (const variant of OUTPUT_VARIANTS) {
      const sample = await runOutputVariant(endpoint, stack, s3Directory, variant, run);
      samples.set(variant.name, [...(samples.get(variant.name) ?? []), sample]);
      console.error(
        `[bench parquet] ${variant.name} run ${run}: ${Math.round(sample.recordsPerSecond)} records/s, ${round(sample.cpuSecondsPerMillion, 1)} CPU s per million, ${Math.round(sample.peakRssMib)} MiB peak RSS, ${round(sample.bytesPerRecord, 1)} B/record`,
      );
    }
  }
} finally {
  await endpoint.stop();
  await stack.stop();
}
const rows = [...samples].map(([name, list]) => {
  const cpu = median(list.map((s) => s.cpuSecondsPerMillion)) ?? Number.NaN;
  return {
    output: name,
    recordsPerSecond: Math.round(median(list.map((s) => s.recordsPerSecond)) ?? Number.NaN),
    // A CPU second per million records is a million records per CPU second... per core.
    recordsPerCoreSecond: Math.round(1_000_000 / cpu),
    peakRssMib: Math.round(median(list.map((s) => s.peakRssMib)) ?? Number.NaN),
    bytesPerRecordOnS3: round(median(list.map((s) => s.bytesPerRecord)) ?? Number.NaN, 1),
  };
});
console.log(JSON.stringify({ records, runs, shards, node: process.version, rows }, null, 2));
