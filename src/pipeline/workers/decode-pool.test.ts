import { afterEach, describe, expect, it } from 'vitest';
import { PINPOINT_APP_EVENT, AIRSHIP_LOCATION, userRecord } from '../../decode/fixtures/samples.js';
import { createLogger } from '../../observability/logger.js';
import { containerCpuLimit } from '../../core/cpu-limit.js';
import { DecodePool, workerThreadCount } from './decode-pool.js';
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
    // Nor than 64 MiB of the event budget pays for: none at the default 32 MiB (no
    // container limit, or the chart's 256Mi), one at 96 MiB (a 512Mi pod), two at 128.
    expect(workerThreadCount('auto', 4, { parallelism: 16, limit: null })).toBe(1);
    expect(workerThreadCount('auto', 4, { parallelism: 16, limit: null }, 32 << 20)).toBe(0);
    expect(workerThreadCount('auto', 4, { parallelism: 16, limit: null }, 96 << 20)).toBe(1);
    expect(workerThreadCount('auto', 4, { parallelism: 16, limit: null }, 128 << 20)).toBe(2);
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
