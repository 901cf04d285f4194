import { describe, expect, it } from 'vitest';
import { CapacityGate } from '../sinks/capacity-gate.js';
import {
  DEFAULT_MEMORY_LIMIT_BYTES,
  MemoryBudget,
  containerMemoryLimit,
  defaultMemoryLimitBytes,
} from './memory-budget.js';
import { PAGES_BUDGET_SHARE, pagesBudgetShare, PageSize, ReadPermits } from './read-permits.js';
import type { UserRecord } from './record.js';
import { userRecord } from '../../test/support/user-record.js';

const MIB = 1024 * 1024;

function files(contents: Record<string, string>) {
  return (path: string) => {
    const text = contents[path];
    if (text === undefined) throw new Error(`ENOENT: ${path}`);
    return text;
  };
}

function records(count: number, bytes: number): UserRecord[] {
  return Array.from({ length: count }, (_, n) =>
    userRecord({ sequenceNumber: String(n + 1), data: new Uint8Array(bytes) }),
  );
}

describe('the default memory budget', () => {
  it('follows a cgroup v2 or v1 limit and falls back without one', () => {
    expect(containerMemoryLimit(files({ '/sys/fs/cgroup/memory.max': '268435456\n' }))).toBe(
      256 * MIB,
    );
    expect(containerMemoryLimit(files({ '/sys/fs/cgroup/memory.max': 'max\n' }))).toBeNull();
    expect(
      containerMemoryLimit(
        files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n' }),
      ),
    ).toBeNull();
    expect(
      containerMemoryLimit(files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '536870912' })),
    ).toBe(512 * MIB);
    expect(containerMemoryLimit(files({}))).toBeNull();
    expect(defaultMemoryLimitBytes(null)).toBe(DEFAULT_MEMORY_LIMIT_BYTES);
    expect(defaultMemoryLimitBytes(256 * MIB)).toBe(32 * MIB);
    expect(defaultMemoryLimitBytes(1024 * MIB)).toBe(224 * MIB);
    expect(defaultMemoryLimitBytes(64 * MIB)).toBe(16 * MIB);
    // A heap capped below the container's share bounds the budget too.
    expect(defaultMemoryLimitBytes(1024 * MIB, 256 * MIB)).toBe(96 * MIB);
    expect(defaultMemoryLimitBytes(null, 4096 * MIB)).toBe(DEFAULT_MEMORY_LIMIT_BYTES);
  });
});

describe('MemoryBudget', () => {
  it('makes every gate full once the gates together hold the budget, and wakes them when any releases', async () => {
    const budget = new MemoryBudget(1000);
    const first = new CapacityGate(10_000, budget);
    const second = new CapacityGate(10_000, budget);
    first.add(600);
    expect(second.full).toBe(false);
    second.add(400);
    expect(first.full).toBe(true);
    expect(second.full).toBe(true);
    let woke = false;
    const waiting = second.waitForRoom().then(() => (woke = true));
    await Promise.resolve();
    expect(woke).toBe(false);
    first.remove(600); // the other gate's release makes room for this one
    await waiting;
    expect(woke).toBe(true);
    expect(budget.held).toBe(400);
  });

  it('a gate under its own cap is still full when the budget is spent', () => {
    const budget = new MemoryBudget(100);
    const gate = new CapacityGate(50, budget);
    gate.add(60);
    expect(gate.full).toBe(true);
    gate.remove(20);
    expect(gate.full).toBe(false);
    expect(budget.held).toBe(40);
  });
});

describe('ReadPermits with a memory budget', () => {
  it('asks for no more records than the budget left can hold, at the average record size seen', async () => {
    const budget = new MemoryBudget(16 * MIB);
    const permits = new ReadPermits(4, budget, 2);
    const page = new PageSize(10_000);
    page.observe(100, records(100, 1000));
    budget.add(15 * MIB); // the sinks hold most of it
    const release = await permits.acquire(undefined, page);
    // 2 sinks x (2 x 1000 + 1024) bytes per record, in the 1 MiB left.
    expect(page.limit).toBe(Math.floor(MIB / (2 * (2 * 1000 + 1024))));
    expect(budget.available).toBe(0);
    release();
    expect(budget.reserved).toBe(0);
  });

  it('waits before reading while the budget is spent, and reads when room comes back', async () => {
    const budget = new MemoryBudget(16 * MIB);
    const permits = new ReadPermits(4, budget, 1);
    const page = new PageSize(10_000);
    page.observe(10, records(10, 1000));
    budget.add(16 * MIB);
    let granted = false;
    const acquiring = permits.acquire(undefined, page).then((release) => {
      granted = true;
      return release;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(granted).toBe(false);
    budget.remove(8 * MIB);
    (await acquiring)();
    expect(granted).toBe(true);
    // Pages take at most a quarter of the budget, each a quarter of that (4 permits): 1 MiB
    // at 3,024 bytes a record would be 346 records, 338 KiB of data; a page holds at least
    // the 400 KiB a loop needs to keep up with a shard (within the quarter): 410 records.
    expect(MIB / (2 * 1000 + 1024)).toBeLessThan(346.8);
    expect(page.limit).toBe(Math.ceil((400 * 1024) / 1000));
  });

  it('pages in hand together reserve at most a quarter of the budget, however many loops read', async () => {
    const budget = new MemoryBudget(32 * MIB);
    const permits = new ReadPermits(4, budget, 1);
    const pages = Array.from({ length: 4 }, () => {
      const page = new PageSize(10_000);
      page.observe(100, records(100, 500));
      return page;
    });
    // Nothing held: every loop may read at once, the budget is all left.
    const releases = await Promise.all(pages.map((page) => permits.acquire(undefined, page)));
    expect(budget.reserved).toBeLessThanOrEqual(8 * MIB);
    const perRecord = 2 * 500 + 1024;
    for (const page of pages) expect(page.limit).toBe(Math.floor((2 * MIB) / perRecord));
    for (const release of releases) release();
    expect(budget.reserved).toBe(0);
  });

  it('pages in hand reserve half that share where the main thread reads pages too', async () => {
    const limits = async (share?: number) => {
      const budget = new MemoryBudget(32 * MIB);
      const permits = new ReadPermits(4, budget, 1, share);
      const pages = Array.from({ length: 4 }, () => {
        const page = new PageSize(10_000);
        page.observe(100, records(100, 2000));
        return page;
      });
      const releases = await Promise.all(pages.map((page) => permits.acquire(undefined, page)));
      const reserved = budget.reserved;
      for (const release of releases) release();
      return { reserved, limits: pages.map((page) => page.limit) };
    };
    const perRecord = 2 * 2000 + 1024;
    const whole = await limits();
    expect(whole.reserved).toBeLessThanOrEqual(8 * MIB);
    expect(whole.limits).toEqual(Array(4).fill(Math.floor((2 * MIB) / perRecord)));
    // 1 MiB a page still holds the 400 KiB a loop needs to keep up with a shard.
    expect(pagesBudgetShare(false)).toBe(PAGES_BUDGET_SHARE);
    expect(pagesBudgetShare(true)).toBe(PAGES_BUDGET_SHARE / 2);
    const half = await limits(pagesBudgetShare(true));
    expect(half.reserved).toBeLessThanOrEqual(4 * MIB);
    expect(half.limits).toEqual(Array(4).fill(Math.floor(MIB / perRecord)));
  });

  it('learns what routed pages really cost from the budget', async () => {
    const budget = new MemoryBudget(8 * MIB);
    const permits = new ReadPermits(1, budget, 1);
    const page = new PageSize(10_000);
    const release = await permits.acquire(undefined, page);
    page.observe(100, records(100, 1000));
    const routed = 2 * 100 * (2 * 1000 + 1024); // the sinks counted twice the rule of thumb
    budget.add(routed);
    release();
    budget.remove(routed); // delivered
    (await permits.acquire(undefined, page))();
    // One permit: the whole quarter of the budget for its page.
    expect(page.limit).toBe(Math.floor((2 * MIB) / (2 * (2 * 1000 + 1024))));
  });

  it('a page still holds a shard read at its 2 MB/s limit, with KPL aggregates and three sinks', async () => {
    const budget = new MemoryBudget(32 * MIB);
    const permits = new ReadPermits(4, budget, 3);
    const page = new PageSize(10_000);
    // Kinesis records of 150 KPL user records of 300 bytes each: 45,000 data bytes apiece.
    page.observe(2, records(300, 300));
    const release = await permits.acquire(undefined, page);
    // 5 calls a second must bring 2 MB: at least 400 KiB of data per page. Each such record
    // counts 3 x (2 x 45,000 + 150 x 1,024) bytes, more than an eighth of the budget's quarter.
    expect(page.limit * 45_000).toBeGreaterThanOrEqual(400 * 1024);
    // Still within what a page could take before the pages shared their quarter.
    expect(budget.reserved).toBeLessThanOrEqual(8 * MIB);
    release();
  });
});

describe('ReadPermits with a memory budget, shards of different record sizes', () => {
  it('a shard of large records gets its page while shards of small records keep taking the room the sinks free', async () => {
    const budget = new MemoryBudget(32 * MIB);
    const permits = new ReadPermits(4, budget, 1);
    budget.add(32 * MIB); // the sinks hold the whole budget
    const stop = new AbortController();
    let smallPages = 0;
    // Three shards of 100-byte records: a page is worth reading once ~120 KiB is free.
    const smallLoop = async () => {
      const page = new PageSize(10_000);
      page.observe(100, records(100, 100));
      while (!stop.signal.aborted) {
        const release = await permits.acquire(stop.signal, page);
        if (!stop.signal.aborted) {
          // A full page, routed into the sinks: what its reservation held.
          budget.add(page.limit * (2 * 100 + 1024));
          smallPages += 1;
        }
        release();
      }
    };
    const smallLoops = [smallLoop(), smallLoop(), smallLoop()];
    await new Promise((resolve) => setImmediate(resolve));
    // A shard of 200 KiB records: its page wants 2 MiB (a quarter of the pages' quarter).
    const large = new PageSize(10_000);
    large.observe(10, records(10, 200 * 1024));
    let largeRelease: (() => void) | null = null;
    void permits.acquire(undefined, large).then((release) => (largeRelease = release));
    // The sinks write 1 MiB at a time; the loops run between two writes.
    let rounds = 0;
    while (largeRelease === null && rounds < 20) {
      budget.remove(MIB);
      rounds += 1;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(largeRelease).not.toBeNull();
    // Its whole page: 2 MiB at 2 x 200 KiB + 1 KiB a record.
    expect(large.limit).toBe(Math.floor((2 * MIB) / (2 * 200 * 1024 + 1024)));
    // The small shards read too, the pages in hand never past the budget.
    expect(smallPages).toBeGreaterThan(0);
    expect(budget.held + budget.reserved).toBeLessThanOrEqual(32 * MIB);
    stop.abort();
    await Promise.all(smallLoops);
    largeRelease!();
    expect(budget.reserved).toBe(0);
  });
});

describe('MemoryBudget readers waiting for room', () => {
  it('serves readers in arrival order: a later reader that needs less does not overtake the head', async () => {
    const budget = new MemoryBudget(1000);
    budget.add(1000);
    const order: string[] = [];
    const first = budget.reserveWhenAvailable(300, 400).then((got) => order.push(`first:${got}`));
    const second = budget.reserveWhenAvailable(50, 400).then((got) => order.push(`second:${got}`));
    budget.remove(100); // enough for the second, not the first
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    budget.remove(300); // the first takes what it wanted: all there is
    await first;
    expect(order).toEqual(['first:400']);
    budget.remove(100); // the second takes what is left (never past the budget)
    await second;
    expect(order).toEqual(['first:400', 'second:100']);
    expect(budget.held + budget.reserved).toBe(1000);
  });

  it('a reader at the head that gives up lets the ones behind it in', async () => {
    const budget = new MemoryBudget(1000);
    budget.add(900);
    const abort = new AbortController();
    const head = budget.reserveWhenAvailable(500, 500, abort.signal);
    let behind = 0;
    const waiting = budget.reserveWhenAvailable(50, 50).then((got) => (behind = got));
    await new Promise((resolve) => setImmediate(resolve));
    expect(behind).toBe(0);
    abort.abort();
    expect(await head).toBe(0);
    await waiting;
    expect(behind).toBe(50);
    expect(budget.reserved).toBe(50);
  });

  it('loops waiting for room with every read permit are served in turn as the sinks write, then the rest read', async () => {
    const budget = new MemoryBudget(32 * MIB);
    const permits = new ReadPermits(4, budget, 1);
    budget.add(32 * MIB);
    const served: number[] = [];
    const releases: Array<() => void> = [];
    for (let shard = 0; shard < 4; shard++) {
      const page = new PageSize(10_000);
      page.observe(10, records(10, 200 * 1024));
      void permits.acquire(undefined, page).then((release) => {
        served.push(shard);
        releases.push(release);
      });
    }
    // A fifth loop, of small records, waits for a permit.
    const small = new PageSize(10_000);
    small.observe(100, records(100, 100));
    let smallIn = false;
    void permits.acquire(undefined, small).then((release) => {
      smallIn = true;
      releases.push(release);
    });
    let rounds = 0;
    while (!smallIn && rounds < 40) {
      budget.remove(MIB); // nothing reads meanwhile: only the sinks' writes free room
      rounds += 1;
      await new Promise((resolve) => setImmediate(resolve));
      // A loop routes its page and gives its permit back once it has one.
      const release = releases.shift();
      if (release) release();
    }
    expect(served).toEqual([0, 1, 2, 3]);
    expect(smallIn).toBe(true);
    for (const release of releases) release();
    expect(budget.reserved).toBe(0);
  });
});
