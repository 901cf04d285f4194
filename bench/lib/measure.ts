import type { BenchKinesisEndpoint } from '../kinesis-endpoint/server.js';
import type { BenchChild } from './child.js';
import { cpuSeconds, mainThreadCpuSeconds, mib, peakRssBytes } from './process-stats.js';
import { sleep } from './stats.js';

export interface ThroughputSample {
  readonly recordsPerSecond: number;
  readonly megabytesPerSecond: number;
  readonly cpuSecondsPerMillion: number;
  /** The part of it on the consumer's main thread. */
  readonly mainThreadCpuSecondsPerMillion: number;
  readonly peakRssMib: number;
  /** Records and seconds of the measured window. */
  readonly records: number;
  readonly seconds: number;
}

export interface MeasureOptions {
  /** The window starts once more than this share of the backlog was processed ... */
  readonly fromShare?: number;
  /** ... and ends once this share was. */
  readonly toShare?: number;
  readonly timeoutMs?: number;
}

/** How many records the consumer has processed so far, as it reports it. */
export type ProgressProbe = () => Promise<number>;

/**
 * Measures a consumer process reading the endpoint's backlog: records/s and MB/s, CPU
 * seconds of the consumer process (all its threads) per million records, and its peak
 * RSS. The window runs between two levels of progress *the consumer reports* (records it
 * has processed), not records served: a consumer may hold many pages fetched but not yet
 * processed (one per shard), which at 64 shards is most of a run's backlog.
 */
export async function measureConsumer(
  endpoint: BenchKinesisEndpoint,
  consumer: BenchChild,
  progress: ProgressProbe,
  options: MeasureOptions = {},
): Promise<ThroughputSample> {
  const total = endpoint.totalRecords;
  const bytesPerRecord = endpoint.template.dataBytes;
  // From the first processed page (start-up excluded) to nearly all: a consumer takes
  // pages in bursts (one per shard at once), so only a long window is fair to all of them.
  const fromRecords = Math.max(1, total * (options.fromShare ?? 0));
  const toRecords = total * (options.toShare ?? 0.98);
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  let start: { at: number; cpu: number; mainCpu: number; records: number } | null = null;
  let exitCode: number | string | null = null;
  void consumer.exited.then((code) => (exitCode = code));
  let records = 0;
  // Sampled as it goes: a worker that finished may be gone before the window closes.
  let peakRss = 0;
  let lastCpu = 0;
  let lastMainCpu = 0;
  for (;;) {
    records = await progress().catch(() => records);
    peakRss = Math.max(peakRss, peakRssBytes(consumer.pid));
    lastCpu = Math.max(lastCpu, cpuSeconds(consumer.pid));
    lastMainCpu = Math.max(lastMainCpu, mainThreadCpuSeconds(consumer.pid));
    if (start === null && records >= fromRecords) {
      start = { at: performance.now(), cpu: lastCpu, mainCpu: lastMainCpu, records };
    }
    if (start !== null && records >= toRecords) {
      const seconds = (performance.now() - start.at) / 1000;
      const cpu = Math.max(lastCpu, cpuSeconds(consumer.pid)) - start.cpu;
      const mainCpu = Math.max(lastMainCpu, mainThreadCpuSeconds(consumer.pid)) - start.mainCpu;
      const counted = records - start.records;
      return {
        recordsPerSecond: counted / seconds,
        megabytesPerSecond: (counted * bytesPerRecord) / 1e6 / seconds,
        cpuSecondsPerMillion: (cpu / counted) * 1e6,
        mainThreadCpuSecondsPerMillion: (mainCpu / counted) * 1e6,
        peakRssMib: mib(Math.max(peakRss, peakRssBytes(consumer.pid))),
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
    await sleep(50);
  }
}

/** Progress a worker prints on stdout as `progress <records>` lines. */
export function stdoutProgress(consumer: BenchChild): ProgressProbe {
  let latest = 0;
  consumer.child.stdout?.on('data', (chunk: Buffer) => {
    for (const match of chunk.toString().matchAll(/progress (\d+)/g)) latest = Number(match[1]);
  });
  return async () => latest;
}

/**
 * The relay's own count of records read and routed (kinesis_relay_records_total, summed
 * over shards): a page is counted and routed into the sinks in one synchronous step.
 */
export function relayMetricsProgress(metricsPort: number): ProgressProbe {
  // Only the one counter: a probe polling 20 times a second should not make the relay render
  // every series of every shard that often (2-2.5 % of its main thread in a profile; no
  // Prometheus scrapes every 50 ms). BENCH_FULL_SCRAPE=1 polls the whole text, as before.
  return async () => {
    const response = await fetch(
      process.env.BENCH_FULL_SCRAPE
        ? `http://127.0.0.1:${metricsPort}/metrics`
        : `http://127.0.0.1:${metricsPort}/metrics?name[]=kinesis_relay_records_total`,
    );
    const text = await response.text();
    let sum = 0;
    for (const match of text.matchAll(/^kinesis_relay_records_total\{[^}]*\} (\d+)/gm)) {
      sum += Number(match[1]);
    }
    return sum;
  };
}
