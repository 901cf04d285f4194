import { startTsChild } from '../lib/child.js';

export interface DecodeEncodeSample {
  /** Records per CPU second of the one thread doing the work: records/s per core. */
  readonly recordsPerCoreSecond: number;
  readonly wallRecordsPerSecond: number;
}

/**
 * `dist`: the build to measure, relative to the repository (default dist/). `deadLetter`:
 * as with a dead-letter destination configured, whose entries need each record's bytes
 * kept until its object is written (the default config has none).
 */
export async function runDecodeEncode(
  records: number,
  dist = 'dist',
  deadLetter = false,
): Promise<DecodeEncodeSample> {
  const worker = startTsChild('bench/scenarios/decode-encode-worker.ts', [], {
    env: {
      BENCH_RECORDS: String(records),
      BENCH_DIST: dist,
      BENCH_DEAD_LETTER: deadLetter ? '1' : '0',
    },
  });
  const code = await worker.exited;
  const line = worker.output().trim().split('\n').at(-1) ?? '';
  if (code !== 0)
    throw new Error(`decode/encode worker failed (${String(code)}):\n${worker.output()}`);
  const result = JSON.parse(line) as { records: number; cpuSeconds: number; wallSeconds: number };
  return {
    recordsPerCoreSecond: result.records / result.cpuSeconds,
    wallRecordsPerSecond: result.records / result.wallSeconds,
  };
}
