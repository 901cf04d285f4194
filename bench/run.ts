/*
 * `npm run bench`: every scenario of docs/performance.md, the median of several runs
 * each, printed as a markdown table and written to bench/results/latest.json.
 *
 *   npm run bench -- --runs 3 --records 300000 --shards 4,16,64 --only relay,ceiling
 *   npm run bench -- --limits          # Kinesis' 5 calls/s and 2 MB/s per shard
 *   npm run bench -- --profile         # also one relay run under --cpu-prof (16 shards)
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchKinesisEndpoint } from './kinesis-endpoint/server.js';
import { buildBaseline } from './lib/baseline.js';
import { REPO_ROOT } from './lib/child.js';
import type { ThroughputSample } from './lib/measure.js';
import { summarizeProfile } from './lib/profile.js';
import { markdownTable, writeResults, type ResultRow } from './lib/report.js';
import { median, round } from './lib/stats.js';
import { runBacklog, type BacklogSample } from './scenarios/backlog.js';
import { runThreeSinkBacklog } from './scenarios/backlog-three-sinks.js';
import { runCeiling } from './scenarios/ceiling.js';
import { runDecodeEncode } from './scenarios/decode-encode.js';
import { runExactlyOnceCost } from './scenarios/exactly-once.js';
import { runLatency } from './scenarios/latency.js';
import { runLifion } from './scenarios/lifion.js';
import { OUTPUT_VARIANTS, runOutputVariant, type OutputSample } from './scenarios/parquet.js';
import { POD_HEAP_SETTINGS, runPodComparison } from './scenarios/pod.js';
import { BUCKET, runRelay, startRelayStack } from './scenarios/relay.js';
import { createMemoryCgroup } from './lib/memory-cgroup.js';

const SCENARIOS = [
  'ceiling',
  'relay',
  'relay-threads',
  'relay-dead-letter',
  'decode',
  'lifion',
  'backlog',
  'backlog-three-sinks',
  'latency',
  'latency-fanout',
  'exactly-once',
  'parquet',
  'pod',
] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    records: { type: 'string', default: '300000' },
    shards: { type: 'string', default: '4,16,64' },
    only: { type: 'string', default: SCENARIOS.join(',') },
    limits: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'backlog-depths': { type: 'string', default: '20000,80000,320000' },
    'backlog-seconds': { type: 'string', default: '30' },
    'three-sinks-depth': { type: 'string', default: '5000' },
    'pod-records': { type: 'string', default: '1000000' },
    'no-build': { type: 'boolean', default: false },
    /** Also measure the relay as built from this git ref (before/after in one run). */
    baseline: { type: 'string' },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results') },
  },
});

const runs = Number(args.runs);
const recordsPerRun = Number(args.records);
const shardCounts = args.shards.split(',').map(Number);
const only = new Set(args.only.split(',') as Scenario[]);
const headlineShards = shardCounts.includes(16) ? 16 : (shardCounts[0] ?? 16);
const log = (message: string) =>
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

interface Medians {
  readonly rps: number | null;
  readonly mbps: number | null;
  readonly cpu: number | null;
  /** The part of `cpu` on the consumer's main thread. */
  readonly mainCpu: number | null;
  readonly rss: number | null;
}

function medians(samples: readonly ThroughputSample[]): Medians {
  return {
    rps: median(samples.map((s) => s.recordsPerSecond)),
    mbps: median(samples.map((s) => s.megabytesPerSecond)),
    cpu: median(samples.map((s) => s.cpuSecondsPerMillion)),
    mainCpu: median(samples.map((s) => s.mainThreadCpuSecondsPerMillion)),
    rss: median(samples.map((s) => s.peakRssMib)),
  };
}

function describe(sample: ThroughputSample): string {
  return `${Math.round(sample.recordsPerSecond)} rec/s, ${sample.cpuSecondsPerMillion.toFixed(1)} CPU-s/M (main thread ${sample.mainThreadCpuSecondsPerMillion.toFixed(1)}), ${Math.round(sample.peakRssMib)} MiB`;
}

async function main(): Promise<void> {
  if (!args['no-build']) {
    log('building dist/ (the relay runs as published)');
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
  const baselineRef = args.baseline;
  const baselineDist = baselineRef ? buildBaseline(baselineRef) : null;
  if (baselineRef) log(`built the baseline relay (${baselineRef}) into ${baselineDist}`);
  const baseline: Record<string, unknown> = { ref: baselineRef ?? null };
  const rows: ResultRow[] = [];
  const results: Record<string, unknown> = {
    generated_at: new Date().toISOString(),
    cores: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    node_version: process.version,
    settings: {
      runs,
      records_per_run: recordsPerRun,
      shard_counts: shardCounts,
      record_bytes: 500,
      aws_limits: args.limits,
    },
  };
  const ceiling = new Map<number, Medians>();
  const relay = new Map<number, Medians>();
  const stack = await startRelayStack();
  try {
    for (const shards of shardCounts) {
      const wantCeiling = only.has('ceiling');
      const wantRelay = only.has('relay');
      const wantLifion = only.has('lifion') && shards === headlineShards;
      // consumer.workerThreads 0 (all on the main thread), and one thread reading whole pages
      // with the main thread helping it at a 64 MiB budget (pages twice the default's size),
      // against the default (auto on 2 cores: one thread and the main thread helping at the
      // default 32 MiB budget, the pages in hand an eighth of it), in the same run.
      const wantThreads = only.has('relay-threads');
      const wantDeadLetter = only.has('relay-dead-letter');
      if (!wantCeiling && !wantRelay && !wantLifion && !wantThreads && !wantDeadLetter) continue;
      const endpoint = new BenchKinesisEndpoint({
        streamName: `bench-${shards}`,
        shardCount: shards,
        recordsPerShard: Math.ceil(recordsPerRun / shards),
        limits: args.limits,
      });
      await endpoint.start();
      const samples = {
        ceiling: [] as ThroughputSample[],
        relay: [] as ThroughputSample[],
        baseline: [] as ThroughputSample[],
        lifion: [] as ThroughputSample[],
        lifionPipeline: [] as ThroughputSample[],
        mainThread: [] as ThroughputSample[],
        threads: [] as ThroughputSample[],
        deadLetter: [] as ThroughputSample[],
        deadLetterBaseline: [] as ThroughputSample[],
      };
      // As config/relay.yaml runs it: a destination for the entries of batches given up on.
      const deadLetterDestination = { type: 's3', bucket: BUCKET, prefix: 'dead-letter/' };
      // Interleaved, so a neighbour's load on the shared CPU hits every consumer alike.
      for (let run = 1; run <= runs; run += 1) {
        if (wantCeiling) {
          const sample = await runCeiling(endpoint);
          samples.ceiling.push(sample);
          log(`ceiling ${shards} shards, run ${run}: ${describe(sample)}`);
        }
        if (wantRelay) {
          const sample = await runRelay(endpoint, stack);
          samples.relay.push(sample);
          log(`relay ${shards} shards, run ${run}: ${describe(sample)}`);
        }
        if (wantThreads) {
          const mainThread = await runRelay(endpoint, stack, { consumer: { workerThreads: 0 } });
          samples.mainThread.push(mainThread);
          log(`relay workerThreads 0 ${shards} shards, run ${run}: ${describe(mainThread)}`);
          const helped = await runRelay(endpoint, stack, {
            consumer: { workerThreads: 1 },
            memory: { limitBytes: 64 * 1024 * 1024 },
          });
          samples.threads.push(helped);
          log(
            `relay workerThreads 1, main thread helping ${shards} shards, run ${run}: ${describe(helped)}`,
          );
        }
        if (wantDeadLetter) {
          const sample = await runRelay(endpoint, stack, { deadLetter: deadLetterDestination });
          samples.deadLetter.push(sample);
          log(`relay with a deadLetter ${shards} shards, run ${run}: ${describe(sample)}`);
          if (baselineDist) {
            const before = await runRelay(endpoint, stack, {
              deadLetter: deadLetterDestination,
              dist: baselineDist,
            });
            samples.deadLetterBaseline.push(before);
            log(
              `relay with a deadLetter @${baselineRef} ${shards} shards, run ${run}: ${describe(before)}`,
            );
          }
        }
        if (wantRelay && baselineDist) {
          const sample = await runRelay(endpoint, stack, { dist: baselineDist });
          samples.baseline.push(sample);
          log(`relay @${baselineRef} ${shards} shards, run ${run}: ${describe(sample)}`);
        }
        if (wantLifion) {
          const sample = await runLifion(endpoint, stack);
          samples.lifion.push(sample);
          log(`lifion-kinesis ${shards} shards, run ${run}: ${describe(sample)}`);
          const pipeline = await runLifion(endpoint, stack, 'pipeline');
          samples.lifionPipeline.push(pipeline);
          log(`lifion pipeline ${shards} shards, run ${run}: ${describe(pipeline)}`);
        }
      }
      if (args.profile && wantRelay && shards === headlineShards) {
        const directory = join(args.out, 'profiles');
        log(`profiling the relay at ${shards} shards into ${directory}`);
        await runRelay(endpoint, stack, {
          nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${directory}`],
        });
        console.log(
          `\nRelay CPU profile, ${shards} shards (self time):\n\n${summarizeProfile(directory, 20)}\n`,
        );
      }
      await endpoint.stop();
      if (wantCeiling) {
        const m = medians(samples.ceiling);
        ceiling.set(shards, m);
        rows.push(
          row(
            `ceiling, ${shards} shards`,
            m,
            `GetRecords + JSON.parse only; main thread ${m.mainCpu?.toFixed(1) ?? '–'} CPU-s/M`,
          ),
        );
        results[`ceiling_rps_${shards}`] = round(m.rps);
        results[`ceiling_cpu_s_per_million_${shards}`] = round(m.cpu, 1);
        results[`ceiling_main_thread_cpu_s_per_million_${shards}`] = round(m.mainCpu, 1);
      }
      if (wantRelay) {
        const m = medians(samples.relay);
        relay.set(shards, m);
        const ratio = ceiling.get(shards)?.rps
          ? (m.rps ?? 0) / (ceiling.get(shards)?.rps ?? 1)
          : null;
        rows.push(
          row(
            `relay, ${shards} shards`,
            m,
            `${ratio === null ? 'S3 CSV gzip' : `${ratio.toFixed(2)} × ceiling`}; main thread ${m.mainCpu?.toFixed(1) ?? '–'} CPU-s/M`,
          ),
        );
        results[`relay_rps_${shards}`] = round(m.rps);
        results[`relay_cpu_s_per_million_${shards}`] = round(m.cpu, 1);
        results[`relay_main_thread_cpu_s_per_million_${shards}`] = round(m.mainCpu, 1);
        results[`relay_peak_rss_mib_${shards}`] = round(m.rss);
        results[`relay_vs_ceiling_${shards}`] = round(ratio, 3);
      }
      if (wantThreads) {
        const main = medians(samples.mainThread);
        const threaded = medians(samples.threads);
        const ceilingRps = ceiling.get(shards)?.rps;
        const vsCeiling = (m: Medians) =>
          ceilingRps ? `; ${((m.rps ?? 0) / ceilingRps).toFixed(2)} × ceiling` : '';
        rows.push(
          row(
            `relay, workerThreads 0, ${shards} shards`,
            main,
            `all on the main thread${vsCeiling(main)}`,
          ),
        );
        rows.push(
          row(
            `relay, workerThreads 1 + main thread, ${shards} shards`,
            threaded,
            `whole pages on one thread and the main thread (64 MiB budget)${vsCeiling(threaded)}; ${((threaded.rps ?? 0) / (main.rps ?? 1)).toFixed(2)} × workerThreads 0`,
          ),
        );
        for (const [name, m] of [
          ['threads_0', main],
          ['threads_1_main_helps', threaded],
        ] as const) {
          results[`relay_${name}_rps_${shards}`] = round(m.rps);
          results[`relay_${name}_cpu_s_per_million_${shards}`] = round(m.cpu, 1);
          results[`relay_${name}_peak_rss_mib_${shards}`] = round(m.rss);
        }
      }
      if (wantDeadLetter) {
        const ceilingRps = ceiling.get(shards)?.rps;
        const vsCeiling = (m: Medians) =>
          ceilingRps ? `${((m.rps ?? 0) / ceilingRps).toFixed(2)} × ceiling; ` : '';
        const m = medians(samples.deadLetter);
        rows.push(
          row(
            `relay with a deadLetter, ${shards} shards`,
            m,
            `${vsCeiling(m)}records kept for dead-letter entries`,
          ),
        );
        results[`relay_dead_letter_rps_${shards}`] = round(m.rps);
        results[`relay_dead_letter_cpu_s_per_million_${shards}`] = round(m.cpu, 1);
        results[`relay_dead_letter_peak_rss_mib_${shards}`] = round(m.rss);
        if (baselineDist) {
          const b = medians(samples.deadLetterBaseline);
          rows.push(
            row(
              `relay with a deadLetter @${baselineRef}, ${shards} shards`,
              b,
              `${vsCeiling(b)}before: the baseline build`,
            ),
          );
          baseline[`relay_dead_letter_rps_${shards}`] = round(b.rps);
          baseline[`relay_dead_letter_cpu_s_per_million_${shards}`] = round(b.cpu, 1);
          baseline[`relay_dead_letter_peak_rss_mib_${shards}`] = round(b.rss);
        }
      }
      if (wantRelay && baselineDist) {
        const m = medians(samples.baseline);
        const after = relay.get(shards);
        rows.push(row(`relay @${baselineRef}, ${shards} shards`, m, 'before: the baseline build'));
        baseline[`relay_rps_${shards}`] = round(m.rps);
        baseline[`relay_cpu_s_per_million_${shards}`] = round(m.cpu, 1);
        baseline[`relay_peak_rss_mib_${shards}`] = round(m.rss);
        baseline[`rps_after_vs_before_${shards}`] = round((after?.rps ?? 0) / (m.rps ?? 1), 2);
        baseline[`cpu_per_record_before_vs_after_${shards}`] = round(
          (m.cpu ?? 0) / (after?.cpu ?? 1),
          2,
        );
      }
      if (wantLifion) {
        const m = medians(samples.lifion);
        rows.push(
          row(`lifion-kinesis, ${shards} shards`, m, 'peer: aws-sdk v2 poller, JSON.parse'),
        );
        results.lifion_rps = round(m.rps);
        results.lifion_cpu_s_per_million = round(m.cpu, 1);
        results.lifion_peak_rss_mib = round(m.rss);
        const p = medians(samples.lifionPipeline);
        rows.push(
          row(
            `lifion + CSV + gzip + S3, ${shards} shards`,
            p,
            "peer doing the relay's job: csv-stringify, zlib, lib-storage",
          ),
        );
        results.lifion_pipeline_rps = round(p.rps);
        results.lifion_pipeline_cpu_s_per_million = round(p.cpu, 1);
        results.lifion_pipeline_peak_rss_mib = round(p.rss);
      }
    }
    const headline = relay.get(headlineShards);
    results.ceiling_rps = results[`ceiling_rps_${headlineShards}`] ?? null;
    results.relay_cpu_s_per_million = round(headline?.cpu ?? null, 1);
    const headlineCeiling = ceiling.get(headlineShards);
    if (headline?.cpu && headlineCeiling?.cpu) {
      results.relay_vs_ceiling_cpu = round(headline.cpu / headlineCeiling.cpu, 2);
    }
    if (typeof results.lifion_pipeline_cpu_s_per_million === 'number' && headline?.cpu) {
      results.relay_vs_lifion_pipeline_records_per_cpu_s = round(
        results.lifion_pipeline_cpu_s_per_million / headline.cpu,
        2,
      );
    }
    if (typeof results.lifion_cpu_s_per_million === 'number' && headline?.cpu) {
      results.relay_vs_lifion_records_per_cpu_s = round(
        results.lifion_cpu_s_per_million / headline.cpu,
        2,
      );
    }

    if (only.has('decode')) {
      // Interleaved with the baseline build, as the consumers are: a neighbour's load on
      // the shared CPU then hits before and after alike.
      const perCore: number[] = [];
      const withDeadLetter: number[] = [];
      const before: number[] = [];
      for (let run = 1; run <= runs; run += 1) {
        const sample = await runDecodeEncode(200_000);
        perCore.push(sample.recordsPerCoreSecond);
        log(
          `decode → route → CSV → gzip, run ${run}: ${Math.round(sample.recordsPerCoreSecond)} rec/s per core`,
        );
        const kept = (await runDecodeEncode(200_000, 'dist', true)).recordsPerCoreSecond;
        withDeadLetter.push(kept);
        log(
          `decode → route → CSV → gzip, records kept for dead-letter entries, run ${run}: ${Math.round(kept)} rec/s per core`,
        );
        if (baselineDist) {
          const b = (await runDecodeEncode(200_000, baselineDist)).recordsPerCoreSecond;
          before.push(b);
          log(
            `decode → route → CSV → gzip @${baselineRef}, run ${run}: ${Math.round(b)} rec/s per core`,
          );
        }
      }
      const m = median(perCore);
      const d = median(withDeadLetter);
      results.decode_csv_gzip_rps_per_core = round(m);
      results.decode_csv_gzip_dead_letter_rps_per_core = round(d);
      if (baselineDist) {
        const b = median(before);
        baseline.decode_csv_gzip_rps_per_core = round(b);
        baseline.decode_after_vs_before = round((m ?? 0) / (b ?? 1), 2);
        rows.push({
          scenario: `decode → route → CSV → gzip @${baselineRef}`,
          recordsPerSecond: b,
          megabytesPerSecond: b === null ? null : (b * 500) / 1e6,
          cpuSecondsPerMillion: b === null ? null : 1e6 / b,
          peakRssMib: null,
          note: 'before: the baseline build',
        });
      }
      rows.push({
        scenario: 'decode → route → CSV → gzip',
        recordsPerSecond: m,
        megabytesPerSecond: m === null ? null : (m * 500) / 1e6,
        cpuSecondsPerMillion: m === null ? null : 1e6 / m,
        peakRssMib: null,
        note: 'per core, in process, 500-byte Pinpoint events',
      });
      rows.push({
        scenario: 'decode → route → CSV → gzip, records kept for dead-letter entries',
        recordsPerSecond: d,
        megabytesPerSecond: d === null ? null : (d * 500) / 1e6,
        cpuSecondsPerMillion: d === null ? null : 1e6 / d,
        peakRssMib: null,
        note: 'per core, as with a dead-letter destination configured',
      });
    }

    if (only.has('exactly-once')) {
      // Busy shards (records 1 ms apart) and many quiet ones (64 shards over 10 min of
      // record time), where per-shard objects cost the most.
      const cases = [
        { name: '4 busy shards', key: 'busy', shards: 4, spacingMs: 1 },
        { name: '64 quiet shards', key: 'quiet', shards: 64, spacingMs: 6 },
      ];
      for (const c of cases) {
        const cost = await runExactlyOnceCost({
          records: 100_000,
          rounds: runs,
          shards: c.shards,
          spacingMs: c.spacingMs,
        });
        log(
          `S3 sink, ${c.name}: default ${Math.round(cost.medianDefault)} rec/s (${cost.objects.default} objects), exactlyOnce ${Math.round(cost.medianExactlyOnce)} rec/s (${cost.objects.exactlyOnce} objects)`,
        );
        results[`s3_default_rps_${c.key}`] = round(cost.medianDefault);
        results[`s3_exactly_once_rps_${c.key}`] = round(cost.medianExactlyOnce);
        results[`exactly_once_vs_default_${c.key}`] = round(cost.ratio, 2);
        results[`exactly_once_objects_${c.key}`] = cost.objects.exactlyOnce;
        results[`default_objects_${c.key}`] = cost.objects.default;
        for (const [mode, rps] of [
          ['default', cost.medianDefault],
          ['exactlyOnce', cost.medianExactlyOnce],
        ] as const) {
          rows.push({
            scenario: `S3 sink ${mode}, ${c.name}`,
            recordsPerSecond: rps,
            megabytesPerSecond: null,
            cpuSecondsPerMillion: null,
            peakRssMib: null,
            note:
              mode === 'default'
                ? `${cost.objects.default} objects`
                : `${cost.ratio.toFixed(2)} × default, ${cost.objects.exactlyOnce} objects`,
          });
        }
      }
    }

    if (only.has('parquet')) {
      // The relay writing Parquet instead of CSV gzip: CPU, memory and bytes on S3.
      const s3Directory = (stack.s3 as { directory?: string }).directory ?? '';
      const endpoint = new BenchKinesisEndpoint({
        streamName: 'bench-parquet',
        shardCount: 4,
        recordsPerShard: Math.ceil(recordsPerRun / 4),
      });
      await endpoint.start();
      try {
        const byVariant = new Map<string, OutputSample[]>();
        for (let run = 1; run <= runs; run += 1) {
          for (const variant of OUTPUT_VARIANTS) {
            const sample = await runOutputVariant(endpoint, stack, s3Directory, variant, run);
            byVariant.set(variant.name, [...(byVariant.get(variant.name) ?? []), sample]);
            log(
              `S3 ${variant.name}, run ${run}: ${describe(sample)}, ${sample.bytesPerRecord.toFixed(1)} B/record on S3`,
            );
          }
        }
        for (const [name, samples] of byVariant) {
          const m = medians(samples);
          const bytes = median(samples.map((sample) => sample.bytesPerRecord));
          results[`s3_${name.replace(/\W+/g, '_')}_bytes_per_record`] = round(bytes, 1);
          results[`s3_${name.replace(/\W+/g, '_')}_cpu_s_per_million`] = round(m.cpu, 1);
          rows.push({
            scenario: `relay → S3 ${name}, 4 shards`,
            recordsPerSecond: m.rps,
            megabytesPerSecond: m.mbps,
            cpuSecondsPerMillion: m.cpu,
            peakRssMib: m.rss,
            note: `${bytes === null ? '?' : bytes.toFixed(1)} B/record on S3`,
          });
        }
      } finally {
        await endpoint.stop();
      }
    }

    if (only.has('pod')) {
      // The relay as a 256Mi pod runs it (the chart's limit): Node sizes V8 from the
      // cgroup's limit, which the runs above, with no limit, never see.
      const cgroup = createMemoryCgroup(256 * 1024 * 1024);
      if (cgroup === null) {
        log('pod: no writable memory cgroup on this machine (v1 or v2); skipped');
      } else {
        try {
          const byHeap = await runPodComparison(stack, cgroup, {
            shards: headlineShards,
            records: Number(args['pod-records']),
            runs,
            log,
            describe,
          });
          const fast = medians(byHeap.get('heap_2048') ?? []);
          for (const setting of POD_HEAP_SETTINGS) {
            const m = medians(byHeap.get(setting.key) ?? []);
            results[`pod_${setting.key}_rps_${headlineShards}`] = round(m.rps);
            results[`pod_${setting.key}_cpu_s_per_million_${headlineShards}`] = round(m.cpu, 1);
            results[`pod_${setting.key}_peak_rss_mib_${headlineShards}`] = round(m.rss);
            const vsFast =
              setting.key === 'heap_2048' || !m.cpu || !fast.cpu
                ? ''
                : `; ${(m.cpu / fast.cpu).toFixed(2)} × the CPU per record of 2048`;
            rows.push(
              row(
                `relay in a 256 MiB pod, ${headlineShards} shards, ${setting.label}`,
                m,
                `memory cgroup, ${Number(args['pod-records']).toLocaleString('en-US')} records${vsFast}`,
              ),
            );
          }
          results.pod_oom_kills = cgroup.oomKills();
        } finally {
          cgroup.remove();
        }
      }
    }

    if (only.has('backlog')) {
      const samplesByDepth: BacklogSample[] = [];
      const baselineByDepth: BacklogSample[] = [];
      for (const depth of args['backlog-depths'].split(',').map(Number)) {
        const backlogOptions = {
          shards: 64,
          depth,
          maxInFlightBytes: 32 * 1024 * 1024,
          sinkDelayMs: 2_000,
          durationMs: Number(args['backlog-seconds']) * 1000,
        };
        const sample = await runBacklog(stack, backlogOptions);
        samplesByDepth.push(sample);
        log(
          `backlog 64 × ${depth} records, slow sink: peak RSS ${Math.round(sample.peakRssMib)} MiB, ${sample.recordsRead} records read`,
        );
        rows.push({
          scenario: `backlog 64 shards × ${depth.toLocaleString('en-US')}`,
          recordsPerSecond: null,
          megabytesPerSecond: null,
          cpuSecondsPerMillion: null,
          peakRssMib: sample.peakRssMib,
          note: 'slow sink (2 s per S3 request), maxInFlightBytes 32 MiB',
        });
        if (baselineDist) {
          const before = await runBacklog(stack, { ...backlogOptions, dist: baselineDist });
          baselineByDepth.push(before);
          log(
            `backlog 64 × ${depth} @${baselineRef}: peak RSS ${Math.round(before.peakRssMib)} MiB`,
          );
          rows.push({
            scenario: `backlog 64 shards × ${depth.toLocaleString('en-US')} @${baselineRef}`,
            recordsPerSecond: null,
            megabytesPerSecond: null,
            cpuSecondsPerMillion: null,
            peakRssMib: before.peakRssMib,
            note: 'before: the baseline build',
          });
        }
      }
      if (baselineByDepth.length > 0) {
        baseline.backlog_peak_rss_mib = round(
          Math.max(...baselineByDepth.map((s) => s.peakRssMib)),
        );
      }
      results.backlog_peak_rss_mib = round(Math.max(...samplesByDepth.map((s) => s.peakRssMib)));
      results.backlog = samplesByDepth.map((s) => ({
        depth_per_shard: s.depth,
        peak_rss_mib: round(s.peakRssMib),
        records_read: s.recordsRead,
      }));
    }

    if (only.has('backlog-three-sinks')) {
      const threeSinkOptions = {
        shards: 64,
        depth: Number(args['three-sinks-depth']),
        sinkDelayMs: 2_000,
        postgresDelayMs: 200,
        durationMs: Number(args['backlog-seconds']) * 1000,
      };
      const builds = [{ ref: null as string | null, dist: undefined as string | undefined }];
      if (baselineDist) builds.push({ ref: baselineRef ?? null, dist: baselineDist });
      for (const { ref, dist } of builds) {
        const sample = await runThreeSinkBacklog(stack, { ...threeSinkOptions, dist });
        const at = ref ? ` @${ref}` : '';
        log(
          `backlog, three slow sinks${at}: peak RSS ${Math.round(sample.peakRssMib)} MiB, ${sample.recordsRead} records read`,
        );
        rows.push({
          scenario: `backlog 64 shards × ${threeSinkOptions.depth.toLocaleString('en-US')}, S3 + webhook + postgres${at}`,
          recordsPerSecond: null,
          megabytesPerSecond: null,
          cpuSecondsPerMillion: null,
          peakRssMib: sample.peakRssMib,
          note: ref
            ? 'before: the baseline build'
            : 'all slow (2 s per S3/webhook request, 200 ms per postgres answer), default sink settings',
        });
        if (ref) baseline.backlog_three_sinks_peak_rss_mib = round(sample.peakRssMib);
        else results.backlog_three_sinks_peak_rss_mib = round(sample.peakRssMib);
      }
    }

    if (only.has('latency')) {
      const sample = await runLatency(stack, {
        recordsPerSecond: 1000,
        batchingWindowMs: 200,
        shards: 4,
        warmupMs: 8_000,
        durationMs: 20_000,
      });
      results.webhook_p50_ms = sample.p50Ms;
      results.webhook_p99_ms = sample.p99Ms;
      if ('reason' in sample) {
        results.webhook_note = sample.reason;
        log(`latency: not measured: ${sample.reason}`);
      } else {
        log(
          `latency: p50 ${sample.p50Ms} ms, p99 ${sample.p99Ms} ms (${sample.received}/${sample.sent} received)`,
        );
      }
      rows.push({
        scenario: 'put → webhook, 1,000 rec/s, 200 ms window',
        recordsPerSecond: null,
        megabytesPerSecond: null,
        cpuSecondsPerMillion: null,
        peakRssMib: null,
        note:
          'reason' in sample
            ? `not measured: ${sample.reason.split('(')[0]?.trim()}`
            : `p50 ${sample.p50Ms} ms, p99 ${sample.p99Ms} ms (kinesalite)`,
      });
    }
    if (only.has('latency-fanout')) {
      // kinesis-local slows as shards fill: a lower rate, the same on both modes.
      // The 200 ms window of the latency row; then 50 ms, where the read path shows.
      const variants = [
        ['kinesis-local-polling', 200],
        ['kinesis-local-fanout', 200],
        ['http2-fanout', 200],
        ['kinesis-local-polling', 50],
        ['http2-fanout-polled', 50],
        ['http2-fanout', 50],
      ] as const;
      const FRONTS = {
        'kinesis-local-polling': 'kinesis-local',
        'kinesis-local-fanout': 'kinesis-local',
        'http2-fanout': 'HTTP/2 front, push on put',
        'http2-fanout-polled': 'HTTP/2 front polling kinesis-local every 20 ms',
      };
      // With --baseline, each variant also runs the baseline relay right after this one.
      const relays = baselineDist
        ? [
            { dist: undefined, tag: '' },
            { dist: baselineDist, tag: ` @${baselineRef}` },
          ]
        : [{ dist: undefined, tag: '' }];
      for (const [source, windowMs] of variants) {
        for (const { dist, tag } of relays) {
          const sample = await runLatency(stack, {
            recordsPerSecond: 200,
            batchingWindowMs: windowMs,
            shards: 4,
            warmupMs: 8_000,
            durationMs: 20_000,
            source,
            dist,
          });
          const key = {
            'kinesis-local-polling': 'polling_kinesis_local',
            'kinesis-local-fanout': 'fanout_kinesis_local',
            'http2-fanout': 'fanout_http2',
            'http2-fanout-polled': 'fanout_http2_polled',
          }[source];
          const into = dist ? baseline : results;
          into[`webhook_${key}_${windowMs}ms_p50_ms`] = sample.p50Ms;
          into[`webhook_${key}_${windowMs}ms_p99_ms`] = sample.p99Ms;
          const what =
            'reason' in sample
              ? `not measured: ${sample.reason}`
              : `p50 ${sample.p50Ms} ms, p99 ${sample.p99Ms} ms (${sample.received}/${sample.sent} received)`;
          log(`latency${tag} (${source}, ${windowMs} ms window): ${what}`);
          if (!('reason' in sample)) {
            into[`webhook_${key}_${windowMs}ms_legs`] = sample.legs;
            for (const leg of sample.legs) {
              log(
                `  ${leg.leg}: p50 ${leg.p50Ms} ms, p99 ${leg.p99Ms} ms, mean in the slowest 1% ${leg.meanInSlowestMs} ms`,
              );
            }
          }
          rows.push({
            scenario: `put → webhook, 200 rec/s, ${windowMs} ms window, ${source === 'kinesis-local-polling' ? 'polling' : 'fan-out'}${tag}`,
            recordsPerSecond: null,
            megabytesPerSecond: null,
            cpuSecondsPerMillion: null,
            peakRssMib: null,
            note: `${what.split('(')[0]?.trim()} (${FRONTS[source]})`,
          });
        }
      }
    }
  } finally {
    await stack.stop();
  }

  if (baselineRef) results.baseline = baseline;
  results.targets = targets(results);
  results.rows = rows;
  const table = markdownTable(rows);
  console.log(`\n${table}\n`);
  console.log(
    `${cpus().length} cores (${String(results.cpu_model)}), Node ${process.version}; median of ${runs} runs.`,
  );
  log(`wrote ${writeResults(args.out, results)}`);
}

function row(scenario: string, m: Medians, note: string): ResultRow {
  return {
    scenario,
    recordsPerSecond: m.rps,
    megabytesPerSecond: m.mbps,
    cpuSecondsPerMillion: m.cpu,
    peakRssMib: m.rss,
    note,
  };
}

/** Where we stand against the targets of docs/performance.md. */
function targets(results: Record<string, unknown>) {
  const num = (key: string) => (typeof results[key] === 'number' ? (results[key] as number) : null);
  const check = (actual: number | null, target: number, atLeast: boolean) => ({
    target,
    actual,
    met: actual === null ? null : atLeast ? actual >= target : actual <= target,
  });
  return {
    relay_vs_ceiling_cpu: check(num('relay_vs_ceiling_cpu'), 1.5, false),
    relay_vs_ceiling_16: check(num('relay_vs_ceiling_16'), 0.8, true),
    relay_vs_ceiling_64: check(num('relay_vs_ceiling_64'), 0.8, true),
    relay_vs_lifion_records_per_cpu_s: check(num('relay_vs_lifion_records_per_cpu_s'), 1, true),
    relay_vs_lifion_pipeline_records_per_cpu_s: check(
      num('relay_vs_lifion_pipeline_records_per_cpu_s'),
      2,
      true,
    ),
    decode_csv_gzip_rps_per_core: check(num('decode_csv_gzip_rps_per_core'), 100_000, true),
    backlog_peak_rss_mib: check(num('backlog_peak_rss_mib'), 256, false),
    relay_peak_rss_mib_16: check(num('relay_peak_rss_mib_16'), 256, false),
    relay_peak_rss_mib_64: check(num('relay_peak_rss_mib_64'), 256, false),
    backlog_three_sinks_peak_rss_mib: check(num('backlog_three_sinks_peak_rss_mib'), 256, false),
    webhook_p99_ms: check(num('webhook_p99_ms'), 500, false),
  };
}

await main();
