import { randomBytes } from 'node:crypto';
import type { AckHandle } from '../../core/ack.js';
import { errorMessage } from '../../core/errors.js';
import type { MemoryBudget } from '../../core/memory-budget.js';
import type { Logger } from '../../observability/logger.js';
import type { RelayMetrics } from '../../observability/metrics.js';
import { CapacityGate } from '../capacity-gate.js';
import { deliverWithRetry } from '../delivery-retry.js';
import { timeParts } from '../s3/key-layout.js';
import { DEAD_LETTER_REASONS, type DeadLetterEntry, type DeadLetterSink } from '../sink.js';

/** Where dead-letter files go: an S3 prefix, or a local directory for the demo. */
export interface DeadLetterStore {
  readonly description: string;
  put(relativeKey: string, body: Buffer): Promise<void>;
}

const MAX_ENTRIES = 1000;
const MAX_AGE_MS = 1000;
/** The entry object, its strings' headers and the acknowledgement handle, as the sinks count. */
const ENTRY_OVERHEAD_BYTES = 1024;

/** What an entry holds in memory until its file is stored: its two long strings and the rest. */
function entryBytes(entry: DeadLetterEntry): number {
  return entry.data.length + entry.error.length + ENTRY_OVERHEAD_BYTES;
}

/**
 * The last stop for a record: JSON lines, one file per batch under {yyyy}/{mm}/{dd}/{HH}/.
 * It retries for ever, because there is nowhere further to send what it cannot write;
 * a checkpoint therefore never passes a record that is not stored somewhere.
 *
 * What it holds (open file plus files waiting or being written) counts against
 * `maxInFlightBytes` and the process's memory budget; above either `waitForCapacity` makes every shard loop pause, so a store
 * that is down holds the relay still instead of filling memory with given-up batches.
 */
export class DeadLetterWriter implements DeadLetterSink {
  private entries: DeadLetterEntry[] = [];
  private acks: AckHandle[] = [];
  private openedAt = 0;
  private writes: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly gate: CapacityGate;

  constructor(
    private readonly store: DeadLetterStore,
    private readonly metrics: RelayMetrics,
    private readonly log: Logger,
    maxInFlightBytes: number,
    /** The process's budget: what the writer holds counts there too. */
    memory?: MemoryBudget,
  ) {
    this.gate = new CapacityGate(maxInFlightBytes, memory);
    metrics.deadLetterInflightBytes.set(0);
    metrics.scrapeTime.deadLetterInflightBytes = () => this.gate.inFlight;
    // Every reason exported from the start: a rate or increase() has data before the first.
    for (const reason of DEAD_LETTER_REASONS) metrics.deadLetterRecords.inc({ reason }, 0);
    this.timer = setInterval(() => {
      if (this.entries.length > 0 && Date.now() - this.openedAt >= MAX_AGE_MS) this.cut();
    }, MAX_AGE_MS / 4);
    this.timer.unref();
  }

  write(entry: DeadLetterEntry, ack: AckHandle): void {
    if (this.entries.length === 0) this.openedAt = Date.now();
    this.entries.push(entry);
    this.acks.push(ack);
    // Counted even past the bound: the record is already read, and this is its only copy.
    this.gate.add(entryBytes(entry));
    this.metrics.deadLetterRecords.inc({ reason: entry.reason });
    this.log.debug(
      {
        shardId: entry.shardId,
        sequenceNumber: entry.sequenceNumber,
        subSequenceNumber: entry.subSequenceNumber,
        reason: entry.reason,
        err: entry.error,
        sink: entry.sink,
      },
      'record dead-lettered',
    );
    if (this.entries.length >= MAX_ENTRIES) this.cut();
  }

  /** Bytes held now: entries not yet stored. */
  get inFlightBytes(): number {
    return this.gate.inFlight;
  }

  waitForCapacity(): Promise<void> | undefined {
    return this.gate.full ? this.gate.waitForRoom() : undefined;
  }

  async flush(): Promise<void> {
    this.cut();
    await this.writes;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private cut(): void {
    if (this.entries.length === 0) return;
    const entries = this.entries;
    const acks = this.acks;
    this.entries = [];
    this.acks = [];
    this.writes = this.writes.then(() => this.persist(entries, acks));
  }

  private async persist(entries: DeadLetterEntry[], acks: AckHandle[]): Promise<void> {
    const t = timeParts(new Date());
    // Files of one second differ only in the random part (replicas share a prefix, and a
    // poison-record storm cuts many a second): 64 bits, so no PUT replaces another's file.
    const key = `${t.yyyy}/${t.mm}/${t.dd}/${t.HH}/dead-letter-${t.yyyy}${t.mm}${t.dd}T${t.HH}${t.MM}${t.SS}-${randomBytes(8).toString('hex')}.jsonl`;
    const body = Buffer.from(entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    await deliverWithRetry(() => this.store.put(key, body), {
      policy: { initialDelayMs: 500, maxDelayMs: 30_000, maxElapsedMs: Number.MAX_SAFE_INTEGER },
      mayGiveUp: false,
      onRetry: (error, attempt) =>
        this.log.error(
          { attempt, err: errorMessage(error), store: this.store.description },
          'dead-letter write failed; retrying',
        ),
    });
    for (const ack of acks) ack.ack();
    this.gate.remove(entries.reduce((sum, entry) => sum + entryBytes(entry), 0));
    const first = entries[0];
    this.log.warn(
      {
        records: entries.length,
        store: this.store.description,
        key,
        firstError: first?.error,
        shardId: first?.shardId,
        sequenceNumber: first?.sequenceNumber,
      },
      'records dead-lettered',
    );
  }
}
