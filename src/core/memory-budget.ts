import { readFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';

const MIB = 1024 * 1024;

/** The budget when the process has no container memory limit (`memory.limitBytes` unset). */
export const DEFAULT_MEMORY_LIMIT_BYTES = 32 * MIB;

/**
 * What the process needs besides the events it holds: Node, V8, the AWS SDK clients,
 * sockets and code (measured: 120-125 MiB RSS for a relay reading 16 idle shards).
 */
export const BASE_MEMORY_BYTES = 128 * MIB;

/**
 * Share of a container limit above the base that events may hold. The rest is garbage
 * V8 keeps between collections: in a 256 MiB memory cgroup with a 32 MiB budget and V8's
 * heap limit at 2 GiB (heap-sizing.ts) the relay peaked at 211-231 MiB RSS at full speed
 * and 226-230 MiB behind slow sinks (docs/performance.md, "A pod's V8"), so a 256 MiB pod
 * gets 32 MiB.
 */
export const CGROUP_EVENT_FRACTION = 0.25;

/** V8's own heap (code, SDK clients, metrics) besides the events, when sizing by the heap cap. */
const BASE_HEAP_BYTES = 64 * MIB;

/** Never less than this, however small the container: a page must fit. */
export const MIN_MEMORY_LIMIT_BYTES = 16 * MIB;

/** Limits at or above this mean "none" (cgroup v1 writes 2^63 rounded down to a page). */
const UNLIMITED = 2 ** 60;

const CGROUP_FILES = [
  '/sys/fs/cgroup/memory.max', // cgroup v2: a number or "max"
  '/sys/fs/cgroup/memory/memory.limit_in_bytes', // cgroup v1
];

/** The container's memory limit in bytes, or null when it has none (or none is visible). */
export function containerMemoryLimit(
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): number | null {
  for (const path of CGROUP_FILES) {
    let text: string;
    try {
      text = read(path).trim();
    } catch {
      continue;
    }
    if (text === 'max') return null;
    const bytes = Number(text);
    if (Number.isFinite(bytes) && bytes > 0) return bytes >= UNLIMITED ? null : bytes;
  }
  return null;
}

/**
 * The event budget when `memory.limitBytes` is not set, the way Go's GOMEMLIMIT or the
 * JVM's container support derive theirs: a quarter of what a container limit leaves
 * above the process's base, else a fixed default sized for a 256 MiB pod; and never more
 * than half of what V8's heap limit (--max-old-space-size) leaves, so a heap capped below
 * the container cannot run out before the budget is spent.
 */
export function defaultMemoryLimitBytes(
  containerLimit: number | null,
  heapLimit: number = Number.POSITIVE_INFINITY,
): number {
  const fromContainer =
    containerLimit === null
      ? DEFAULT_MEMORY_LIMIT_BYTES
      : Math.floor((containerLimit - BASE_MEMORY_BYTES) * CGROUP_EVENT_FRACTION);
  const fromHeap = Math.floor((heapLimit - BASE_HEAP_BYTES) / 2);
  return Math.max(MIN_MEMORY_LIMIT_BYTES, Math.min(fromContainer, fromHeap));
}

/**
 * One memory budget for the whole process: every part that holds events (sink buffers and
 * uploads, the dead-letter writer's entries, GetRecords pages in hand) counts its bytes
 * here. Sinks add what they hold (`add` / `remove`) and their writers wait while it is
 * spent (`full`); shard loops reserve room for a page before they read it, in arrival
 * order (`reserveWhenAvailable`), so the pages in hand cannot take the process past it.
 * A sink's own `maxInFlightBytes` stays a cap inside the budget.
 */
export class MemoryBudget {
  private heldBytes = 0;
  private reservedBytes = 0;
  private addedBytes = 0;
  private waiters: Array<() => void> = [];
  /** Readers waiting for room for a page, in arrival order (reserveWhenAvailable). */
  private readers: RoomWaiter[] = [];
  private relieveQueued = false;
  private readonly pressureListeners = new Set<() => void>();

  constructor(readonly limitBytes: number) {}

  /** Bytes the sinks and the dead-letter writer hold. */
  get held(): number {
    return this.heldBytes;
  }

  /** Bytes set aside for GetRecords pages being read or routed. */
  get reserved(): number {
    return this.reservedBytes;
  }

  /** Every byte ever added (never decreases): what routing pages has cost so far. */
  get added(): number {
    return this.addedBytes;
  }

  /** What a new page may still reserve. */
  get available(): number {
    return Math.max(0, this.limitBytes - this.heldBytes - this.reservedBytes);
  }

  /**
   * Writers wait while the sinks hold the whole budget. Reservations do not count here:
   * a page being routed turns its reservation into held bytes, and its loop waiting for
   * its own reservation to clear would never end.
   */
  get full(): boolean {
    return this.heldBytes >= this.limitBytes;
  }

  /** Nothing held or reserved: a page may be read whatever its size (progress). */
  get idle(): boolean {
    return this.heldBytes === 0 && this.reservedBytes === 0;
  }

  add(bytes: number): void {
    this.heldBytes += bytes;
    this.addedBytes += bytes;
  }

  remove(bytes: number): void {
    this.heldBytes = Math.max(0, this.heldBytes - bytes);
    this.changed();
  }

  unreserve(bytes: number): void {
    this.reservedBytes = Math.max(0, this.reservedBytes - bytes);
    this.changed();
  }

  /** Resolves once the sinks hold less than the whole budget. */
  async waitForRoom(): Promise<void> {
    while (this.full) await this.nextChange();
  }

  /**
   * Reserves up to `want` once at least `need` is available (or nothing at all is held or
   * reserved), and resolves with what it reserved; with 0 on abort. Readers are served in
   * arrival order, as a fair semaphore serves them: one at the head blocks later ones,
   * however little they need. Otherwise a shard of large records (whose page needs more
   * room) waited forever while shards of small records took every bit of room the sinks
   * freed, holding one of the read permits all along. The room is reserved when it is
   * granted, so no one takes it between the grant and the reservation. While readers wait
   * the sinks are asked to cut their open batches, on every change that leaves one
   * waiting: held bytes leave only with a written batch, and a batch short of its size and
   * age bounds would otherwise keep every shard loop waiting until its maxAgeMs.
   */
  reserveWhenAvailable(need: number, want: number, signal?: AbortSignal): Promise<number> {
    if (signal?.aborted) return Promise.resolve(0);
    if (this.readers.length === 0 && this.fits(need)) return Promise.resolve(this.reserve(want));
    return new Promise((resolve) => {
      const reader: RoomWaiter = {
        need,
        grant: () => {
          signal?.removeEventListener('abort', abandon);
          resolve(this.reserve(want));
        },
      };
      // An aborted reader gives up its place, and those behind it may fit now.
      const abandon = () => {
        const index = this.readers.indexOf(reader);
        if (index < 0) return;
        this.readers.splice(index, 1);
        resolve(0);
        this.serveReaders();
      };
      this.readers.push(reader);
      signal?.addEventListener('abort', abandon, { once: true });
      this.relieve();
    });
  }

  /** Calls `relieve` whenever a reader waits for room; returns the unsubscribe. */
  onPressure(relieve: () => void): () => void {
    this.pressureListeners.add(relieve);
    return () => this.pressureListeners.delete(relieve);
  }

  /**
   * Sets aside up to `bytes` (never more than is available) at once, ahead of any reader
   * waiting; returns what it got. Private: only reserveWhenAvailable, which keeps the
   * readers' order, may jump the queue.
   */
  private reserve(bytes: number): number {
    const granted = Math.min(bytes, Math.max(this.available, this.idle ? bytes : 0));
    this.reservedBytes += granted;
    return granted;
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private changed(): void {
    this.serveReaders();
    if (this.readers.length > 0 && !this.relieveQueued) {
      // Not from inside the sink's remove (a batch's write ending): after it.
      this.relieveQueued = true;
      queueMicrotask(() => {
        this.relieveQueued = false;
        this.relieve();
      });
    }
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private fits(need: number): boolean {
    return this.available >= need || this.idle;
  }

  /** Grants the readers at the head whose need fits, in order; stops at one that does not. */
  private serveReaders(): void {
    while (this.readers.length > 0 && this.fits(this.readers[0]!.need)) {
      this.readers.shift()!.grant();
    }
  }

  /** A reader still waits: the sinks cut their open batches, then whoever fits goes. */
  private relieve(): void {
    if (this.readers.length === 0) return;
    for (const relieve of this.pressureListeners) relieve();
    this.serveReaders();
  }
}

/** A reader waiting for `need` bytes of room (MemoryBudget.reserveWhenAvailable). */
interface RoomWaiter {
  readonly need: number;
  readonly grant: () => void;
}

/** What bounds this process's memory, read once at start (readMemoryLimits). */
export interface MemoryLimits {
  /** The container's memory limit in bytes (its cgroup's), null when it has none. */
  readonly containerBytes: number | null;
  /** V8's heap limit: Node's choice for the machine or the container, or --max-old-space-size. */
  readonly heapBytes: number;
}

export function readMemoryLimits(): MemoryLimits {
  return {
    containerBytes: containerMemoryLimit(),
    heapBytes: getHeapStatistics().heap_size_limit,
  };
}

/** The process's budget from `memory.limitBytes` (or its default), exported as a gauge. */
export function processMemoryBudget(
  limitBytes: number | null,
  metrics: { scrapeTime: { memory?: Pick<MemoryBudget, 'limitBytes' | 'held' | 'reserved'> } },
  limits: MemoryLimits = readMemoryLimits(),
): MemoryBudget {
  const limit = limitBytes ?? defaultMemoryLimitBytes(limits.containerBytes, limits.heapBytes);
  const budget = new MemoryBudget(limit);
  // kinesis_relay_memory_bytes{state} reads the budget when scraped.
  metrics.scrapeTime.memory = budget;
  return budget;
}
