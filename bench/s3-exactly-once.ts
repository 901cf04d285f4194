/**
 * What `exactlyOnce: true` costs the S3 sink, on its own (`npm run bench` runs it too):
 * `npx tsx bench/s3-exactly-once.ts [records] [rounds] [shards] [ms between records]`.
 */
import { runExactlyOnceCost } from './scenarios/exactly-once.js';

const options = {
  records: Number(process.argv[2] ?? 100_000),
  rounds: Number(process.argv[3] ?? 3),
  shards: Number(process.argv[4] ?? 4),
  spacingMs: Number(process.argv[5] ?? 1),
};
const cost = await runExactlyOnceCost(options);
console.log(JSON.stringify({ ...options, ...cost, ratio: Number(cost.ratio.toFixed(3)) }, null, 2));
