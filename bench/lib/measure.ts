import type { BenchKinesisEndpoint } from '../kinesis-endpoint/server.js';
import type { BenchChild } from './child.js';
import { cpuSeconds, mib, peakRssBytes } from './process-stats.js';
import { sleep } from './stats.js';

export interface ThroughputSample {
  readonly recordsPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly cpuSecondsPerMillion: number;
  readonly peakRssMib: number;
  /** Records and seconds of the measured window. */
  readonly records: number;
  readonly seconds: number;
}

export interface MeasureOptions {
  /** The window starts once this share of the backlog was served (start-up excluded) ... */
  readonly fromShare?: number;
  /** ... and ends at this share (the ragged tail, where shards finish at different times, excluded). */
  readonly toShare?: number;
  readonly timeoutMs?: number;
}

/**
 * Measures a consumer process reading the endpoint's backlog: records/s and MB/s as the
 * endpoint served them, CPU seconds of the consumer process (all its threads) per million
 * records over the same window, and the process's peak RSS. A consumer that reads through
 * the AWS SDK only asks for the next page once it has processed the last, so what was
 * served in a steady window is what was processed.
 */
export async function measureConsumer(
  endpoint: BenchKinesisEndpoint,
  consumer: BenchChild,
  options: MeasureOptions = {},
): Promise<ThroughputSample> {
  const total = endpoint.totalRecords;
  const fromRecords = total * (options.fromShare ?? 0.1);
  const toRecords = total * (options.toShare ?? 0.9);
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  let start: { at: number; cpu: number; records: number; bytes: number } | null = null;
  let exitCode: number | string | null = null;
  void consumer.exited.then((code) => (exitCode = code));
  for (;;) {
    const { records, bytes } = endpoint.counters;
    if (start === null && records >= fromRecords) {
      start = { at: performance.now(), cpu: cpuSeconds(consumer.pid), records, bytes };
    }
    if (start !== null && records >= toRecords) {
      const seconds = (performance.now() - start.at) / 1000;
      const cpu = cpuSeconds(consumer.pid) - start.cpu;
      const counted = records - start.records;
      return {
        recordsPerSecond: counted / seconds,
        megabytesPerSecond: (bytes - start.bytes) / 1e6 / seconds,
        cpuSecondsPerMillion: (cpu / counted) * 1e6,
        peakRssMib: mib(peakRssBytes(consumer.pid)),
        records: counted,
        seconds,
      };
    }
    if (exitCode !== null) {
      throw new Error(
        `consumer exited (${String(exitCode)}) after ${records} of ${total} records:\n${consumer.output().slice(-3000)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(
        `consumer read only ${records} of ${total} records in time:\n${consumer.output().slice(-3000)}`,
      );
    }
    await sleep(20);
  }
}
