import type { AckHandle } from '../../core/ack.js';
import type { DeadLetterEntry } from '../sink.js';

/** The entry object, its strings' headers and the acknowledgement handle, as the sinks count. */
const ENTRY_OVERHEAD_BYTES = 1024;

/**
 * What an entry holds in memory until its file is stored, as the gate counts it: its two
 * long strings (now inside its encoded line) and the rest.
 */
export function entryBytes(entry: DeadLetterEntry): number {
  return entry.data.length + entry.error.length + ENTRY_OVERHEAD_BYTES;
}

/** What the log line of a stored file names: its first entry. */
export interface FirstEntry {
  readonly error: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
}

/**
 * One dead-letter file being filled: each entry kept as its encoded JSON line (a Buffer),
 * never as one string for the whole file. A body joined into one string threw past V8's
 * longest string (~512 MiB: 1,000 entries of ~600 KB records), and bytes outside the V8
 * heap are what a Buffer.concat of at most the per-file cap needs anyway.
 */
export class DeadLetterFile {
  private readonly lines: Buffer[] = [];
  private readonly acks: AckHandle[] = [];
  /** Bytes of the body: the encoded lines. */
  private bodyBytes = 0;
  /** Bytes counted against the writer's gate, released once the file is settled. */
  private counted = 0;
  private first: FirstEntry | undefined;
  readonly openedAt = Date.now();

  get entries(): number {
    return this.lines.length;
  }

  get bytes(): number {
    return this.bodyBytes;
  }

  get heldBytes(): number {
    return this.counted;
  }

  get firstEntry(): FirstEntry | undefined {
    return this.first;
  }

  /** Adds an entry as its encoded `line`; returns the bytes it counts against the gate. */
  add(entry: DeadLetterEntry, line: Buffer, ack: AckHandle): number {
    this.first ??= {
      error: entry.error,
      shardId: entry.shardId,
      sequenceNumber: entry.sequenceNumber,
    };
    this.lines.push(line);
    this.acks.push(ack);
    this.bodyBytes += line.length;
    const bytes = entryBytes(entry);
    this.counted += bytes;
    return bytes;
  }

  body(): Buffer {
    return Buffer.concat(this.lines, this.bodyBytes);
  }

  /**
   * Calls every handle, each on its own: one that throws (a sink's bug) must not leave the
   * file's other records unacknowledged, their shards' checkpoints stopped behind them.
   */
  acknowledge(onError: (error: unknown) => void): void {
    for (const ack of this.acks) {
      try {
        ack.ack();
      } catch (error) {
        onError(error);
      }
    }
  }
}

/** One JSON line of a dead-letter file. */
export function encodeEntry(entry: DeadLetterEntry): Buffer {
  return Buffer.from(`${JSON.stringify(entry)}\n`);
}
