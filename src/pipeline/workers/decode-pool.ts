import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { containerCpuLimit } from '../../core/cpu-limit.js';
import { errorMessage } from '../../core/errors.js';
import type { MemoryBudget } from '../../core/memory-budget.js';
import type { UserRecord } from '../../core/record.js';
import type { Logger } from '../../observability/logger.js';
import { packPage, unpackResults, type WorkerRecordResult } from './page-codec.js';
import {
  PageChunker,
  type PageAnswer,
  type PageChunkerSpec,
  type PageTask,
} from './page-chunker.js';
import type { DecodeWorkerSpec } from './worker-spec.js';

const WORKER_YOUNG_GENERATION_MB = 8;

export interface DecodePoolOptions {
  readonly threads: number;
  readonly spec: DecodeWorkerSpec;
  readonly log: Logger;
  /**
   * With whole pages: the main thread reads a page itself when every thread is busy
   * (mainThreadTakesPages says where it may).
   */
  readonly mainThreadTakesPages?: boolean;
  /**
   * What the sinks hold of the event budget: the main thread takes pages only while they
   * hold little (MAIN_THREAD_HELPS_UP_TO_HELD_SHARE). Without it, always.
   */
  readonly budget?: Pick<MemoryBudget, 'held' | 'limitBytes'>;
  /** The worker module; tests substitute one that misbehaves on purpose. */
  readonly worker?: URL;
}

/**
 * The worker threads that decode and encode pages (consumer.workerThreads). One task is one
 * page of one shard, packed into a single transferable buffer each way. The shard loop
 * awaits its page's answer before routing it, so pages of one shard stay in order and only
 * different shards are decoded at once.
 */
export class DecodePool {
  private readonly pool: Piscina<ArrayBuffer | PageTask, ArrayBuffer | PageAnswer>;
  /** Set when whole pages go to the threads (every sink takes chunks: see DecodeWorkerSpec). */
  readonly chunks: PageChunkerSpec | null;
  /** Set where the main thread reads pages too (DecodePoolOptions.mainThreadTakesPages). */
  private readonly mainChunker: PageChunker | null;
  private readonly budget: Pick<MemoryBudget, 'held' | 'limitBytes'> | null;

  constructor(options: DecodePoolOptions) {
    this.budget = options.budget ?? null;
    const worker = options.worker ?? defaultWorker();
    this.chunks = options.spec.chunks ?? null;
    this.mainChunker =
      this.chunks && options.mainThreadTakesPages ? new PageChunker(this.chunks) : null;
    this.pool = new Piscina({
      filename: worker.href,
      minThreads: options.threads,
      maxThreads: options.threads,
      // The threads live as long as the relay: starting one costs a module load.
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData: options.spec,
      // A page's events are garbage as soon as its lines are written: a small young
      // generation collects them as cheaply and keeps each thread's RSS down (measured
      // with 10,000-record pages: peak 237 -> 196 MiB for one thread, CPU within noise).
      // Whole pages too, since a page's body is parsed one record at a time (16 MB was
      // needed while the whole body was parsed at once; 8 MB: 8-14 MiB less peak RSS for
      // one thread at the same records/s, docs/performance.md).
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      // Whole pages: a page's chunks are gzipped on libuv's threads while the thread reads
      // the next one; one at a time, it waited a quarter of its time for zlib.
      concurrentTasksPerWorker: this.chunks ? 2 : 1,
      ...(worker.pathname.endsWith('.ts') ? { execArgv: ['--import', 'tsx'] } : {}),
    });
    // A thread that fails with no task in hand (piscina replaces it): said, never thrown
    // as an unhandled 'error' event, which would end the process.
    this.pool.on('error', (error: unknown) =>
      options.log.error({ err: errorMessage(error) }, 'a decode worker thread failed'),
    );
  }

  /** Whether the main thread reads whole pages too (see ReadPermits' pages share). */
  get mainThreadReadsPages(): boolean {
    return this.mainChunker !== null;
  }

  get threads(): number {
    return this.pool.options.maxThreads;
  }

  /**
   * The worker's verdict on each record, in order. Rejects when the worker failed (it
   * crashed, or threw outside a decoder): nothing of the page has been routed then, so the
   * shard loop may read it again, as after any failed read.
   */
  async decode(records: readonly UserRecord[]): Promise<WorkerRecordResult[]> {
    const page = packPage(records);
    const answer = await this.pool.run(page, { transferList: [page] });
    if (!(answer instanceof ArrayBuffer))
      throw new Error('a decode worker answered a page of records with chunks');
    const results = unpackResults(answer);
    if (results.length !== records.length) {
      throw new Error(`decode worker answered ${results.length} records for ${records.length}`);
    }
    return results;
  }

  /**
   * A GetRecords body read, decoded and encoded in a thread (PageChunker): its lines per
   * object and its positions, or `parsed: false` for a body the reader does not take.
   * Rejects when the worker failed; nothing of the page was routed then.
   */
  async chunkPage(task: PageTask): Promise<PageAnswer> {
    // Every thread has its pages in hand and another waits: where the threads leave a core
    // to the main thread, it reads this one itself. With one thread on 2 cores the thread
    // alone was the limit while most of the second core stayed idle (docs/performance.md).
    if (this.mainChunker && this.pool.queueSize > 0 && this.sinksKeepUp()) {
      return this.mainChunker.chunkPage(task);
    }
    const answer = await this.pool.run(task, { transferList: [task.body] });
    if (answer instanceof ArrayBuffer)
      throw new Error('a decode worker answered a body with records');
    return answer;
  }

  /**
   * Whether the sinks write as fast as the pages come: then they hold little of the budget
   * (at full speed ~1 MiB of 32 with 50,000-record objects, since they hold pages gzipped).
   * Behind a slow sink, reading faster only fills the budget sooner, and the main thread's
   * pages cost its isolate memory the budget does not count.
   */
  private sinksKeepUp(): boolean {
    if (!this.budget) return true;
    return this.budget.held <= this.budget.limitBytes * MAIN_THREAD_HELPS_UP_TO_HELD_SHARE;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * `decode-worker.js` next to this module in dist/; under tsx or vitest this module is the
 * TypeScript source, and so is the worker, loaded through tsx in its thread.
 */
function defaultWorker(): URL {
  const typescript = import.meta.url.endsWith('.ts');
  return new URL(`./decode-worker.${typescript ? 'ts' : 'js'}`, import.meta.url);
}

/**
 * Share of the event budget the sinks may hold for the main thread to take pages. Measured
 * behind a slow S3 sink (the backlog scenario, 3 runs each): the main thread helping at any
 * level 254-259 MiB peak RSS, up to half the budget held 254-264, up to an eighth 244-251;
 * at full speed the sinks held 0.2-1.1 MiB of 32 and the main thread helped as before
 * (docs/performance.md, "The main thread helps at the default budget").
 */
export const MAIN_THREAD_HELPS_UP_TO_HELD_SHARE = 1 / 8;

/**
 * Event budget per worker thread `auto` starts: what each adds to the process's peak RSS
 * is memory the budget does not count (its isolate, and what its scavenges promote of the
 * pages it reads). Measured (docs/performance.md): one thread alone 228-233 MiB peak (2M
 * records, 16 shards), two threads 295-308 (1M records, 16 and 64 shards). So the default
 * 32 MiB budget (no container limit, or the chart's 256Mi) starts one thread.
 */
export const BUDGET_BYTES_PER_PAGE_READER = 32 * 1024 * 1024;

/**
 * `consumer.workerThreads` as a count. auto: the cores this process may use (its CPU quota,
 * if any, rounded up) less the main thread's, and no more than `maxConcurrentReads` (a
 * shard loop has at most one page in the pool, and only that many loops hold a page), nor
 * than one per 32 MiB of the event budget (BUDGET_BYTES_PER_PAGE_READER), so a pod without
 * a CPU limit on a large node does not start one per core of the node.
 */
export function workerThreadCount(
  setting: 'auto' | number,
  maxConcurrentReads: number,
  cpus: CpuCount = hostCpus(),
  budgetBytes: number = BUDGET_BYTES_PER_PAGE_READER,
): number {
  if (setting !== 'auto') return setting;
  const usable = usableCores(cpus);
  const byMemory = Math.floor(budgetBytes / BUDGET_BYTES_PER_PAGE_READER);
  return Math.max(0, Math.min(usable - 1, maxConcurrentReads, byMemory));
}

/**
 * Whether the main thread may read whole pages as well when the threads are all busy:
 * where the threads leave it a core of its own (one thread on 2 cores, say; two threads
 * on 2 cores read fewer records per second with its help). Its pages cost the main
 * isolate memory the budget does not count, so the pages in hand then get a smaller share
 * of the budget (PAGES_BUDGET_SHARE_MAIN_THREAD_READING).
 */
export function mainThreadTakesPages(threads: number, cpus: CpuCount): boolean {
  return threads > 0 && threads + 1 <= usableCores(cpus);
}

export interface CpuCount {
  readonly parallelism: number;
  /** The container's CPU limit (cores, possibly fractional), if it has one. */
  readonly limit: number | null;
}

/** The cores this process may be scheduled on, and its container's CPU quota. */
export function hostCpus(): CpuCount {
  return { parallelism: availableParallelism(), limit: containerCpuLimit() };
}

function usableCores(cpus: CpuCount): number {
  return Math.min(cpus.parallelism, Math.ceil(cpus.limit ?? Number.POSITIVE_INFINITY));
}
