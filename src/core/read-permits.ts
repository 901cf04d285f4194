import { EVENT_OVERHEAD_BYTES } from '../sinks/pending-batch.js';
import type { MemoryBudget } from './memory-budget.js';
import type { UserRecord } from './record.js';

/** Data bytes per record assumed before a shard (or any shard) has returned one. */
const ASSUMED_RECORD_BYTES = 1024;

/**
 * Share of the budget the pages in hand may reserve together (a page at most this share
 * over the permits). A page weighs more than it is counted while it is read and routed:
 * the response body, its text and the parsed document exist beside the records, and what
 * V8 promoted while the page was routed stays until a full collection. Smaller pages
 * leave less of that behind (measured with a 32 MiB budget: peak RSS 254 -> 225 MiB at
 * 16 shards, 238 -> 234 at 64; CPU per record and records/s within noise;
 * docs/performance.md, "Memory margin"). A page may take more than its part of the share,
 * up to the whole share, when that part could not hold PAGE_DATA_TO_KEEP_UP: with KPL
 * aggregates of small events and several sinks an event counts many times its bytes.
 */
export const PAGES_BUDGET_SHARE = 0.25;

/**
 * The pages' share where the main thread reads whole pages beside a worker thread
 * (DecodePool.mainThreadReadsPages): each isolate that reads pages keeps what its
 * scavenges promoted of them until a full collection, and the main isolate, with its
 * 32 MB young generation, grew its old generation from ~40 to ~66 MB that way. Half the
 * share, half as large pages: measured with 2M records, one thread and the main thread,
 * 247-264 MiB peak RSS against 273-277 with the whole share, at the same records/s
 * (docs/performance.md, "The main thread helps at the default budget").
 */
export const PAGES_BUDGET_SHARE_MAIN_THREAD_READING = PAGES_BUDGET_SHARE / 2;

/** The pages' share of the budget, given whether the main thread reads pages too. */
export function pagesBudgetShare(mainThreadReadsPages: boolean): number {
  return mainThreadReadsPages ? PAGES_BUDGET_SHARE_MAIN_THREAD_READING : PAGES_BUDGET_SHARE;
}

/**
 * Record data one page must be able to hold so that one loop reads a shard as fast as
 * Kinesis lets it: 2 MB a second in 5 GetRecords calls. A loop that reads less than a
 * shard takes in (1 MB/s of KPL user records) falls behind and never catches up.
 */
export const PAGE_DATA_TO_KEEP_UP = 400 * 1024;

/** A page smaller than this many records is not worth a call: wait for room instead. */
const MIN_PAGE_RECORDS = 100;

/**
 * What one shard's pages look like, so its next GetRecords asks for no more records than
 * the memory budget reserved for it can hold (`limit`, set by ReadPermits.acquire).
 */
export class PageSize {
  /** Running means over the last pages (exponentially weighted). */
  private dataBytesPerRecord = 0;
  private eventsPerRecord = 0;
  /** The Limit of the next GetRecords call. */
  limit: number;
  /** The last page read since the permit was taken (null: none came back). */
  lastPage: {
    readonly records: number;
    readonly dataBytes: number;
    readonly events: number;
  } | null = null;

  constructor(readonly maxRecords: number) {
    this.limit = maxRecords;
  }

  get observed(): boolean {
    return this.eventsPerRecord > 0;
  }

  /** A page came back: `records` Kinesis records, `userRecords` after de-aggregation. */
  observe(records: number, userRecords: readonly UserRecord[]): void {
    let bytes = 0;
    for (const record of userRecords) bytes += record.data.byteLength;
    this.observeCounts(records, userRecords.length, bytes);
  }

  /** As `observe`, from the counts of a page read by a worker. */
  observeCounts(records: number, userRecords: number, bytes: number): void {
    if (records === 0 || userRecords === 0) return;
    this.lastPage = { records, dataBytes: bytes, events: userRecords };
    const weight = this.observed ? 0.3 : 1;
    this.dataBytesPerRecord += weight * (bytes / records - this.dataBytesPerRecord);
    this.eventsPerRecord += weight * (userRecords / records - this.eventsPerRecord);
  }

  /** Data bytes and user records per Kinesis record; an assumption until observed. */
  shape(): { dataBytes: number; events: number } {
    return this.observed
      ? { dataBytes: this.dataBytesPerRecord, events: this.eventsPerRecord }
      : { dataBytes: ASSUMED_RECORD_BYTES, events: 1 };
  }
}

/**
 * A process-wide bound on shard loops holding a GetRecords page (fetching it or routing
 * it into the sinks). Without it memory grows with the shard count, not with the sinks'
 * in-flight bound: every loop that a full sink released fetches its next page at once,
 * and each page is up to 10,000 records (10 MB) before a sink can push back.
 *
 * With the process's memory budget a permit also reserves room for the page before it
 * is read: its `limit` is what the budget left can hold at the shard's average record
 * size, as every sink it is routed to will count it (at most a `limit`-th of the pages'
 * share of the budget per page, PAGES_BUDGET_SHARE, or what holds PAGE_DATA_TO_KEEP_UP
 * within that share), so the pages in hand cannot take the process past its budget. With many
 * shards in hand pages get smaller instead of the process bigger.
 */
export class ReadPermits {
  private available: number;
  private readonly waiters: Array<() => void> = [];
  /** What the routed pages should have cost by `rawCost`: calibrates it against `added`. */
  private estimatedBytes = 0;

  constructor(
    readonly limit: number,
    private readonly memory?: MemoryBudget,
    /** How many sinks hold each event (each counts it against the budget). */
    private readonly holders = 1,
    /** Share of the budget the pages in hand may reserve together (PAGES_BUDGET_SHARE). */
    private readonly pagesShare = PAGES_BUDGET_SHARE,
  ) {
    this.available = limit;
  }

  /**
   * Resolves with a release function once a permit is free and, with a budget and a
   * `page`, room for the page is reserved (`page.limit` set); at once when aborted.
   */
  async acquire(signal?: AbortSignal, page?: PageSize): Promise<() => void> {
    const release = await this.permit(signal);
    if (!this.memory || !page || signal?.aborted) return release;
    const memory = this.memory;
    page.lastPage = null;
    const perRecord = this.bytesPerRecord(page);
    const pagesShare = Math.floor(memory.limitBytes * this.pagesShare);
    const keepUp = Math.ceil(PAGE_DATA_TO_KEEP_UP / page.shape().dataBytes) * perRecord;
    const cap = Math.max(Math.floor(pagesShare / this.limit), Math.min(keepUp, pagesShare));
    const want = Math.min(page.maxRecords * perRecord, cap);
    // In arrival order with every other loop's page: a page that needs more room than
    // others is not overtaken by them forever (the permit is held while it waits, and the
    // loops behind it wait for it too, so the wait lasts until the sinks write, no longer).
    const need = Math.min(want, MIN_PAGE_RECORDS * perRecord);
    const reserved = await memory.reserveWhenAvailable(need, want, signal);
    page.limit = Math.max(1, Math.min(page.maxRecords, Math.floor(reserved / perRecord)));
    let unreserved = false;
    return () => {
      if (unreserved) return;
      unreserved = true;
      // The page is routed: its records are in the sinks' counts now.
      if (page.lastPage) this.estimatedBytes += this.rawCost(page.lastPage);
      memory.unreserve(reserved);
      release();
    };
  }

  /** What one Kinesis record of this shard will hold once every sink has it. */
  private bytesPerRecord(page: PageSize): number {
    const shape = page.shape();
    return Math.max(1, Math.ceil(this.calibration() * this.rawCost(shape)));
  }

  /**
   * A page's cost by rule of thumb: every sink holds an event's encoded item (about its
   * data's size), its record's bytes and the objects around them (pending-batch.ts).
   */
  private rawCost(page: { dataBytes: number; events: number }): number {
    return Math.max(1, this.holders) * (2 * page.dataBytes + page.events * EVENT_OVERHEAD_BYTES);
  }

  /**
   * How far the rule of thumb is off, from what the routed pages really added to the
   * budget (a webhook's JSON documents are larger than their records, a filter drops
   * events): a ratio over everything routed since the start, within [1/4, 8].
   */
  private calibration(): number {
    if (!this.memory || this.estimatedBytes === 0) return 1;
    return Math.min(8, Math.max(0.25, this.memory.added / this.estimatedBytes));
  }

  private async permit(signal?: AbortSignal): Promise<() => void> {
    if (this.available > 0) {
      this.available -= 1;
      return this.releaser();
    }
    return new Promise((resolve) => {
      const grant = () => {
        signal?.removeEventListener('abort', abandon);
        resolve(this.releaser());
      };
      // An aborted waiter gives up its place; the caller sees the abort and stops.
      const abandon = () => {
        const index = this.waiters.indexOf(grant);
        if (index >= 0) this.waiters.splice(index, 1);
        resolve(() => undefined);
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', abandon, { once: true });
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.available += 1;
    };
  }
}
