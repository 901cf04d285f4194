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
import { DeadLetterFile, encodeEntry } from './dead-letter-file.js';

/** Where dead-letter files go: an S3 prefix, or a local directory for the demo. */
export interface DeadLetterStore {
  readonly description: string;
  put(relativeKey: string, body: Buffer): Promise<void>;
}

/** When a file is cut: whichever bound is reached first (or its age, MAX_AGE_MS). */
export interface DeadLetterFileLimits {
  readonly maxEntries: number;
  /**
   * Bytes of body: far below V8's longest string (~512 MiB) and one PUT (S3 takes 5 GiB).
   * An entry larger than this is a file alone.
   */
  readonly maxFileBytes: number;
}

export const DEFAULT_DEAD_LETTER_FILE_LIMITS: DeadLetterFileLimits = {
  maxEntries: 1000,
  maxFileBytes: 64 * 1024 * 1024,
};

const MAX_AGE_MS = 1000;

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
  private open = new DeadLetterFile();
  /** Files are stored one after another; this chain never stays rejected (see `cut`). */
  private writes: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly gate: CapacityGate;
  private readonly limits: DeadLetterFileLimits;

  constructor(
    private readonly store: DeadLetterStore,
    private readonly metrics: RelayMetrics,
    private readonly log: Logger,
    maxInFlightBytes: number,
    /** The process's budget: what the writer holds counts there too. */
    memory?: MemoryBudget,
    limits: Partial<DeadLetterFileLimits> = {},
  ) {
    this.limits = { ...DEFAULT_DEAD_LETTER_FILE_LIMITS, ...limits };
    this.gate = new CapacityGate(maxInFlightBytes, memory);
    metrics.deadLetterInflightBytes.set(0);
    metrics.scrapeTime.deadLetterInflightBytes = () => this.gate.inFlight;
    // Every reason exported from the start: a rate or increase() has data before the first.
    for (const reason of DEAD_LETTER_REASONS) metrics.deadLetterRecords.inc({ reason }, 0);
    this.timer = setInterval(() => {
      if (this.open.entries > 0 && Date.now() - this.open.openedAt >= MAX_AGE_MS) this.cut();
    }, MAX_AGE_MS / 4);
    this.timer.unref();
  }

  write(entry: DeadLetterEntry, ack: AckHandle): void {
    const line = encodeEntry(entry);
    if (this.open.entries > 0 && this.open.bytes + line.length > this.limits.maxFileBytes) {
      this.cut();
    }
    // Counted even past the bound: the record is already read, and this is its only copy.
    this.gate.add(this.open.add(entry, line, ack));
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
    if (
      this.open.entries >= this.limits.maxEntries ||
      this.open.bytes >= this.limits.maxFileBytes
    ) {
      this.cut();
    }
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
    if (this.open.entries === 0) return;
    const file = this.open;
    this.open = new DeadLetterFile();
    // A rejected link would skip every later persist: nothing stored or acknowledged again,
    // every shard's checkpoint stopped for good. A file that fails is logged, and the next goes on.
    this.writes = this.writes
      .then(() => this.persist(file))
      .catch((error: unknown) =>
        this.log.error(
          { err: errorMessage(error), records: file.entries, store: this.store.description },
          'dead-letter file failed outside its store write',
        ),
      );
  }

  private async persist(file: DeadLetterFile): Promise<void> {
    try {
      const t = timeParts(new Date());
      // Files of one second differ only in the random part (replicas share a prefix, and a
      // poison-record storm cuts many a second): 64 bits, so no PUT replaces another's file.
      const key = `${t.yyyy}/${t.mm}/${t.dd}/${t.HH}/dead-letter-${t.yyyy}${t.mm}${t.dd}T${t.HH}${t.MM}${t.SS}-${randomBytes(8).toString('hex')}.jsonl`;
      const body = file.body();
      await deliverWithRetry(() => this.store.put(key, body), {
        policy: { initialDelayMs: 500, maxDelayMs: 30_000, maxElapsedMs: Number.MAX_SAFE_INTEGER },
        mayGiveUp: false,
        onRetry: (error, attempt) =>
          this.log.error(
            { attempt, err: errorMessage(error), store: this.store.description },
            'dead-letter write failed; retrying',
          ),
      });
      file.acknowledge((error) =>
        this.log.error({ err: errorMessage(error), key }, 'dead-letter acknowledgement failed'),
      );
      const first = file.firstEntry;
      this.log.warn(
        {
          records: file.entries,
          store: this.store.description,
          key,
          firstError: first?.error,
          shardId: first?.shardId,
          sequenceNumber: first?.sequenceNumber,
        },
        'records dead-lettered',
      );
    } finally {
      // Whatever happened, the file's memory is no longer held: its bytes must not stay
      // counted, or the gate would pause every shard loop for good.
      this.gate.remove(file.heldBytes);
    }
  }
}
