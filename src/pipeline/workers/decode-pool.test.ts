import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PINPOINT_APP_EVENT, AIRSHIP_LOCATION, userRecord } from '../../decode/fixtures/samples.js';
import { createLogger } from '../../observability/logger.js';
import { containerCpuLimit } from '../../core/cpu-limit.js';
import { getRecordsBody } from '../../../test/support/kinesis-record.js';
import { readKeptRecords } from '../../sinks/kept-records.js';
import { DecodePool, mainThreadTakesPages, workerThreadCount } from './decode-pool.js';
import { PageChunker, type PageAnswer } from './page-chunker.js';
import { PageDecoder } from './page-decoder.js';
import { unpackResults } from './page-codec.js';
import { packPage } from './page-codec.js';
import type { DecodeWorkerSpec } from './worker-spec.js';

const spec: DecodeWorkerSpec = {
  decodeFormat: 'auto',
  streamInIds: false,
  sinks: [
    {
      filter: { eventTypes: [], formats: [] },
      encoding: {
        type: 's3',
        format: 'csv',
        verbatimJson: false,
        layout: { layout: 'hourly', sinkName: 'events', prefix: 'p/', compression: 'gzip' },
      },
    },
  ],
};

const page = (partitionKeys: string[]) =>
  partitionKeys.map((partitionKey, n) =>
    userRecord(n % 2 ? AIRSHIP_LOCATION : PINPOINT_APP_EVENT, {
      partitionKey,
      sequenceNumber: String(1000 + n),
    }),
  );

describe('DecodePool: pages decoded on worker threads', () => {
  let pool: DecodePool | null = null;
  afterEach(async () => {
    await pool?.close();
    pool = null;
  });

  it('answers what the same work on this thread answers (worker module loaded from TS under vitest)', async () => {
    pool = new DecodePool({ threads: 2, spec, log: createLogger('silent') });
    const records = page(['a', 'b', 'c', 'd']);
    const [fromThreads, again] = await Promise.all([pool.decode(records), pool.decode(records)]);
    const here = unpackResults(new PageDecoder(spec).decodePage(packPage(records)));
    expect(fromThreads).toEqual(here);
    expect(again).toEqual(here);
    expect(here.every((result) => result.ok && result.events.length === 1)).toBe(true);
  });

  it('a worker that dies fails its page, not the process, and the next page is decoded', async () => {
    pool = new DecodePool({
      threads: 1,
      spec,
      log: createLogger('silent'),
      worker: new URL('../../../test/support/crashing-decode-worker.ts', import.meta.url),
    });
    await expect(pool.decode(page(['a', 'crash-the-worker']))).rejects.toThrow();
    const results = await pool.decode(page(['a', 'b']));
    expect(results.map((result) => result.ok)).toEqual([true, true]);
  });
});

describe('DecodePool: whole pages', () => {
  const chunkSpec: DecodeWorkerSpec = {
    ...spec,
    chunks: {
      decodeFormat: 'auto',
      streamInIds: false,
      sinks: [
        {
          name: 'events',
          filter: { eventTypes: [], formats: [] },
          encoding: {
            format: 'csv',
            verbatimJson: false,
            layout: { layout: 'hourly', sinkName: 'events', prefix: 'p/', compression: 'gzip' },
          },
          maxEvents: 10_000,
          maxBytes: 64 << 20,
          gzipLevel: 6,
          keepsRecords: false,
        },
      ],
    },
  };
  const body = (shard: number) =>
    new Uint8Array(
      getRecordsBody(
        Array.from({ length: 50 }, (_, n) => ({
          SequenceNumber: String(49_000_000_000_000_000n + BigInt(shard * 1000 + n)),
          ApproximateArrivalTimestamp: new Date(Date.UTC(2024, 2, 1, 12)),
          Data: Buffer.from(JSON.stringify(PINPOINT_APP_EVENT)),
          PartitionKey: `pk-${n}`,
        })),
      ),
    ).buffer;
  const task = (shard: number) => ({
    body: body(shard),
    streamName: 'events',
    shardId: `shardId-${shard}`,
    skipThrough: null,
  });
  const lines = (answer: PageAnswer) =>
    answer.parsed
      ? answer.chunks.map((chunk) => gunzipSync(chunk.body).toString()).join('')
      : 'unparsed';

  let pool: DecodePool | null = null;
  afterEach(async () => {
    vi.restoreAllMocks();
    await pool?.close();
    pool = null;
  });

  it('reads pages on the main thread too while every thread is busy, answering the same', async () => {
    const onMainThread = vi.spyOn(PageChunker.prototype, 'chunkPage');
    pool = new DecodePool({
      threads: 1,
      spec: chunkSpec,
      log: createLogger('silent'),
      mainThreadTakesPages: true,
    });
    const shards = Array.from({ length: 8 }, (_, shard) => shard);
    const answers = await Promise.all(shards.map((shard) => pool!.chunkPage(task(shard))));
    const here = new PageChunker(chunkSpec.chunks!);
    for (const [shard, answer] of answers.entries()) {
      expect(lines(answer)).toBe(lines(await here.chunkPage(task(shard))));
      expect(answer).toMatchObject({ parsed: true, userRecords: 50 });
    }
    // The thread takes two pages at a time and a third waits: the rest came here (the spy
    // sees this thread's calls only; `here` made 8 of them).
    expect(onMainThread.mock.calls.length - shards.length).toBeGreaterThan(0);
  });

  it('leaves the pages to the threads while the sinks hold more than an eighth of the budget', async () => {
    const onMainThread = vi.spyOn(PageChunker.prototype, 'chunkPage');
    const budget = { limitBytes: 32 << 20, held: 5 << 20 };
    pool = new DecodePool({
      threads: 1,
      spec: chunkSpec,
      log: createLogger('silent'),
      mainThreadTakesPages: true,
      budget,
    });
    const behind = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((shard) => pool!.chunkPage(task(shard))),
    );
    expect(behind.every((answer) => answer.parsed && answer.userRecords === 50)).toBe(true);
    expect(onMainThread).not.toHaveBeenCalled();
    // The sinks caught up: the main thread helps again.
    budget.held = 4 << 20;
    await Promise.all([0, 1, 2, 3, 4, 5].map((shard) => pool!.chunkPage(task(shard))));
    expect(onMainThread).toHaveBeenCalled();
  });

  it('hands back, where the sink dead-letters, each chunk with its records from the thread', async () => {
    const keeping = chunkSpec.chunks!.sinks.map((sink) => ({ ...sink, keepsRecords: true }));
    pool = new DecodePool({
      threads: 1,
      spec: { ...chunkSpec, chunks: { ...chunkSpec.chunks!, sinks: keeping } },
      log: createLogger('silent'),
    });
    const answer = await pool.chunkPage(task(3));
    if (!answer.parsed) throw new Error('the page was not parsed');
    const records = answer.chunks.flatMap((chunk) =>
      readKeptRecords(chunk.records ?? new Uint8Array()),
    );
    expect(records.map((record) => [record.shardId, record.partitionKey])).toEqual(
      Array.from({ length: 50 }, (_, n) => ['shardId-3', `pk-${n}`]),
    );
    expect(
      records.every((r) => Buffer.from(r.data).toString() === JSON.stringify(PINPOINT_APP_EVENT)),
    ).toBe(true);
  });

  it('leaves every page to the threads where the main thread takes none', async () => {
    const onMainThread = vi.spyOn(PageChunker.prototype, 'chunkPage');
    pool = new DecodePool({ threads: 1, spec: chunkSpec, log: createLogger('silent') });
    const answers = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((shard) => pool!.chunkPage(task(shard))),
    );
    expect(answers.every((answer) => answer.parsed && answer.userRecords === 50)).toBe(true);
    expect(onMainThread).not.toHaveBeenCalled();
  });

  it('lets the main thread take pages only where the threads leave it a core', () => {
    expect(mainThreadTakesPages(1, { parallelism: 2, limit: null })).toBe(true);
    expect(mainThreadTakesPages(2, { parallelism: 2, limit: null })).toBe(false);
    expect(mainThreadTakesPages(1, { parallelism: 16, limit: 1.5 })).toBe(true);
    expect(mainThreadTakesPages(1, { parallelism: 16, limit: 1 })).toBe(false);
    expect(mainThreadTakesPages(3, { parallelism: 4, limit: null })).toBe(true);
    expect(mainThreadTakesPages(0, { parallelism: 4, limit: null })).toBe(false);
  });
});

describe('consumer.workerThreads: auto', () => {
  it('is the usable cores less one, bounded by the CPU quota, maxConcurrentReads and the event budget', () => {
    const roomy = 1 << 30;
    expect(workerThreadCount('auto', 4, { parallelism: 2, limit: null }, roomy)).toBe(1);
    expect(workerThreadCount('auto', 4, { parallelism: 1, limit: null }, roomy)).toBe(0);
    // A pod limited to 1.5 CPUs on a 16-core node: two threads' worth of time.
    expect(workerThreadCount('auto', 4, { parallelism: 16, limit: 1.5 }, roomy)).toBe(1);
    expect(workerThreadCount('auto', 4, { parallelism: 16, limit: 1 }, roomy)).toBe(0);
    // No more threads than pages that can be in hand at once.
    expect(workerThreadCount('auto', 4, { parallelism: 16, limit: null }, roomy)).toBe(4);
    expect(workerThreadCount('auto', 2, { parallelism: 16, limit: null }, roomy)).toBe(2);
    // Nor than 32 MiB of the event budget pays for: one at the default 32 MiB (no container
    // limit, or the chart's 256Mi), none below, three at 96 MiB (a 512Mi pod).
    expect(workerThreadCount('auto', 4, { parallelism: 16, limit: null })).toBe(1);
    expect(workerThreadCount('auto', 4, { parallelism: 16, limit: null }, 32 << 20)).toBe(1);
    expect(workerThreadCount('auto', 4, { parallelism: 16, limit: null }, 16 << 20)).toBe(0);
    expect(workerThreadCount('auto', 4, { parallelism: 16, limit: null }, 96 << 20)).toBe(3);
    expect(workerThreadCount(3, 1, { parallelism: 1, limit: 0.5 })).toBe(3);
    expect(workerThreadCount(0, 4, { parallelism: 16, limit: null })).toBe(0);
  });

  it('reads the CFS quota of cgroup v2 and v1', () => {
    const files = (entries: Record<string, string>) => (path: string) => {
      const text = entries[path];
      if (text === undefined) throw new Error('ENOENT');
      return text;
    };
    expect(containerCpuLimit(files({ '/sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(1.5);
    expect(containerCpuLimit(files({ '/sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeNull();
    expect(
      containerCpuLimit(
        files({
          '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '200000\n',
          '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
        }),
      ),
    ).toBe(2);
    expect(
      containerCpuLimit(
        files({
          '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n',
          '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
        }),
      ),
    ).toBeNull();
    expect(containerCpuLimit(files({}))).toBeNull();
  });
});
