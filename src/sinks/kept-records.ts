import { promisify } from 'node:util';
import { deflateRaw, inflateRawSync } from 'node:zlib';
import type { UserRecord } from '../core/record.js';
import { releaseNow } from '../core/release-now.js';
import { PackReader, PackWriter } from '../pipeline/workers/pack.js';
import { packRecord, unpackRecord } from '../pipeline/workers/page-codec.js';

/*
 * The records of a page chunk's events, packed into one buffer and compressed while the
 * chunk waits for its object: what a batch that gives up needs to write a dead-letter
 * entry per event (batch-delivery.ts), kept as a few compressed bytes per event instead of
 * one record object and its bytes. A decode worker packs them as it encodes the events and
 * compresses them with the chunk's lines (page-chunker.ts); they travel with the chunk and
 * are read back only on the rare give-up. Compressed (deflate level 1, ~0.65 µs per
 * 500-byte record), a sink behind a slow destination holds many times more events in the
 * same budget, and the sinks that keep up hold little enough for the main thread to help
 * read pages (decode-pool.ts): measured, 1.1-1.2 × the records/s of the same chunks kept
 * raw, and less peak RSS behind a slow sink (docs/performance.md).
 *
 * The records are written as a decode worker's page of records is (page-codec.ts), each
 * after a flag byte: SAME_RECORD for the previous event's record again (a record decoded
 * into several events), NEW_RECORD before one packed in full.
 */

const FIRST_CAPACITY = 64 * 1024;
const NEW_RECORD = 0;
const SAME_RECORD = 1;

/** Packs the records of one chunk's events, in the events' order. */
export class KeptRecordsWriter {
  private out: PackWriter | null = null;
  private previous: UserRecord | null = null;

  /** The record of the chunk's next event. */
  add(record: UserRecord): void {
    const out = (this.out ??= new PackWriter(FIRST_CAPACITY));
    const previous = this.previous;
    if (
      previous &&
      (previous.shardId !== record.shardId || previous.streamName !== record.streamName)
    ) {
      throw new Error('unreachable: one chunk of two shards');
    }
    this.previous = record;
    if (previous === record) {
      out.u8(SAME_RECORD);
      return;
    }
    out.u8(NEW_RECORD);
    packRecord(out, record);
  }

  /** The packed records, a buffer of their own (none: empty); this starts empty again. */
  take(): Uint8Array {
    const out = this.out;
    this.out = null;
    this.previous = null;
    if (!out) return new Uint8Array(0);
    const message = out.finish();
    // Its exact bytes, and the writer's buffer freed now: left to the thread's collector,
    // a page's worth of them each added up with the other unreachable buffers (releaseNow).
    const exact = new Uint8Array(out.length);
    exact.set(new Uint8Array(message, 0, out.length));
    releaseNow(new Uint8Array(message));
    return exact;
  }
}

const deflateRawAsync = promisify(deflateRaw);

/**
 * KeptRecordsWriter's packed records compressed (on libuv's threads), a buffer of their own;
 * `packed` is freed now where it is a whole buffer (releaseNow).
 */
export async function compressKeptRecords(packed: Uint8Array): Promise<Uint8Array> {
  const compressed = await deflateRawAsync(packed, { level: 1 });
  releaseNow(packed);
  const own = compressed.byteOffset === 0 && compressed.byteLength === compressed.buffer.byteLength;
  return own ? new Uint8Array(compressed.buffer) : new Uint8Array(compressed);
}

/**
 * The records KeptRecordsWriter packed and compressKeptRecords compressed, one per event
 * (an event's record again where several events came from one); their data are views of
 * one buffer of them.
 */
export function readKeptRecords(compressed: Uint8Array): UserRecord[] {
  if (compressed.byteLength === 0) return [];
  const inflated = inflateRawSync(compressed);
  if (inflated.byteLength === 0) return [];
  // PackReader reads its header at the start of an ArrayBuffer.
  const message =
    inflated.byteOffset === 0 && inflated.byteLength === inflated.buffer.byteLength
      ? inflated.buffer
      : inflated.buffer.slice(inflated.byteOffset, inflated.byteOffset + inflated.byteLength);
  const input = new PackReader(message as ArrayBuffer);
  const records: UserRecord[] = [];
  while (!input.atEnd) {
    const flag = input.u8();
    const previous = records.at(-1);
    if (flag === SAME_RECORD && previous) records.push(previous);
    else if (flag === NEW_RECORD) records.push(unpackRecord(input));
    else throw new Error(`kept records: an unexpected flag ${flag}`);
  }
  return records;
}
