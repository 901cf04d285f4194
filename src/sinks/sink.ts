import type { AckHandle } from '../core/ack.js';
import type { RelayEvent } from '../core/event.js';
import type { RecordPosition, UserRecord } from '../core/record.js';

/**
 * One event's line for one sink, made off the main thread by a decode worker with the
 * sink's own encoder and key layout (src/pipeline/workers): what `write` would have made.
 */
export interface PreEncodedEvent {
  readonly kind: 'csv' | 'json' | 'parquet';
  /** The CSV shape's id (`generic`, `airship:OPEN` ...); null for JSON lines. */
  readonly shapeId: string | null;
  /** The directory of the event's object (the sink's key layout rendered for it). */
  readonly directory: string;
  readonly line: string;
  /** The line's UTF-8 length. */
  readonly bytes: number;
}

/**
 * Lines of several events bound for one S3 object, encoded (and compressed) off the main
 * thread from one GetRecords page (src/pipeline/workers/page-chunker.ts), acknowledged as one.
 */
export interface LineChunk {
  readonly kind: 'csv' | 'json';
  readonly shapeId: string | null;
  readonly directory: string;
  /** The hour (ms since epoch / 3,600,000) of the records' arrival: one object never spans two. */
  readonly arrivalHour: number;
  /** The first event's record's arrival (ms since epoch). */
  readonly firstArrivalMs: number;
  readonly oldestArrivalMs: number;
  /**
   * The lines, each with its line feed, as the object stores them: one gzip member for a
   * gzip object (a gzip file may hold several, RFC 1952 2.2), else their UTF-8 bytes.
   */
  readonly body: Uint8Array;
  readonly events: number;
  /** The lines' UTF-8 length (what buffer.maxBytes counts). */
  readonly bytes: number;
  /**
   * The events' records packed and compressed (sinks/kept-records.ts), for their
   * dead-letter entries should the object's batch give up; null where the sink has no
   * dead-letter destination (it retries for ever).
   */
  readonly records: Uint8Array | null;
}

/**
 * A destination. `write` only buffers; the sink acknowledges each event through its
 * handle once the batch holding it is durably delivered or dead-lettered. The sink owns
 * batching, retries and concurrency (one driver per sink, as in Vector).
 */
export interface Sink {
  readonly name: string;
  write(event: RelayEvent, ack: AckHandle): void;
  /**
   * As `write`, for an event a decode worker already encoded for this sink. Only sinks
   * whose encoding runs in the workers have it (S3 CSV and JSON Lines).
   */
  writeEncoded?(encoded: PreEncodedEvent, record: UserRecord, ack: AckHandle): void;
  /**
   * As `writeEncoded`, for a chunk of a page's events, with one handle for all of them.
   * Only sinks that take chunks have it (batching S3 text sinks: see chunkerSpec).
   */
  writeChunk?(chunk: LineChunk, ack: AckHandle): void;
  /** A promise while the sink is over its in-flight bound: the shard loops wait on it. */
  waitForCapacity(): Promise<void> | undefined;
  /**
   * Writes every buffered batch and resolves once all are acknowledged. An exactly-once S3
   * sink writes only complete batches: the rest is read again from the checkpoint.
   */
  flush(): Promise<void>;
  /**
   * Cuts every open batch for writing now, without waiting for it (a shard handed over or
   * ended adds nothing more to them). Absent where batches must not be cut early
   * (exactly-once segments).
   */
  cutOpenBatches?(): void;
  close(): Promise<void>;
  /**
   * For sinks whose output must be rebuilt identically on replay: the highest position at
   * or below `candidate` from which a replay does so; null when none is known.
   */
  safeCheckpoint?(shardId: string, candidate: RecordPosition): RecordPosition | null;
  /** The shard's checkpoint was written at `position` (never lower than an earlier one). */
  checkpointed?(shardId: string, position: RecordPosition): void;
  /** The shard is closed and all its records were written: nothing later can arrive. */
  endOfShard?(shardId: string): void;
  /** This worker stopped reading the shard (lease lost, shutdown); it will be read again. */
  releaseShard?(shardId: string): void;
}

/** Why a record ended in the dead-letter destination. */
export const DEAD_LETTER_REASONS = ['decode_failed', 'sink_gave_up', 'sink_rejected'] as const;
export type DeadLetterReason = (typeof DEAD_LETTER_REASONS)[number];

export interface DeadLetterEntry {
  readonly stream: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly subSequenceNumber: number;
  readonly partitionKey: string;
  readonly arrivalTime: string;
  readonly reason: DeadLetterReason;
  readonly error: string;
  /** The sink that gave up, for sink failures. */
  readonly sink: string | null;
  /** The raw record bytes, base64. */
  readonly data: string;
}

export interface DeadLetterSink {
  write(entry: DeadLetterEntry, ack: AckHandle): void;
  waitForCapacity(): Promise<void> | undefined;
  flush(): Promise<void>;
  close(): Promise<void>;
}
