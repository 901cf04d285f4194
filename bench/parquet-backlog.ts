/**
 * The memory bound with Parquet: the backlog scenario (64 shards, a slow S3, a 32 MiB
 * in-flight bound) writing CSV gzip and Parquet, peak RSS per backlog depth.
 * `npm run build && npx tsx bench/parquet-backlog.ts [depths] [seconds]`.
 */
import { runBacklog } from './scenarios/backlog.js';
import { startRelayStack } from './scenarios/relay.js';

const depths = (process.argv[2] ?? '20000,80000').split(',').map(Number);
const seconds = Number(process.argv[3] ?? 30);
const outputs = [
  { name: 'csv gzip', sink: { format: 'csv', compression: 'gzip' } },
  { name: 'parquet snappy', sink: { format: 'parquet' } },
];
const stack = await startRelayStack();
const rows: Array<{ output: string; depth: number; peakRssMib: number; recordsRead: number }> = [];
try {
  for (const depth of depths) {
    for (const output of outputs) {
      const sample = await runBacklog(stack, {
        shards: 64,
        depth,
        maxInFlightBytes: 32 * 1024 * 1024,
        sinkDelayMs: 2_000,
        durationMs: seconds * 1000,
        sink: output.sink,
      });
      rows.push({ output: output.name, ...sample, peakRssMib: Math.round(sample.peakRssMib) });
      console.error(
        `[bench parquet-backlog] ${output.name} 64 x ${depth}: ${Math.round(sample.peakRssMib)} MiB peak RSS, ${sample.recordsRead} records read`,
      );
    }
  }
} finally {
  await stack.stop();
}
console.log(JSON.stringify(rows, null, 2));
