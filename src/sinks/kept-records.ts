import { promisify } from 'node:util';
import { deflateRaw, inflateRawSync } from 'node:zlib';
import type { UserRecord } from '../core/record.js';
import { releaseNow } from '../core/release-now.js';

/*
 * The records of a page chunk's events, packed into one buffer and compressed while the
 * chunk waits for its object: what a batch that gives up needs to write a dead-letter
 * entry per event (batch-delivery.ts), kept as a few compressed bytes per event instead of
 * one record object and its bytes. A decode worker packs them as it encodes the events and
 * compresses them with the chunk's lines (page-chunker.ts); they travel with the chunk and
 * are read back only on the rare give-up. Compressed (deflate level 1, ~0.65 µs per
 * 500-byte record), a sink behind a slow destination holds 20-30 × more events in the same
 * budget, and the sinks that keep up hold little enough for the main thread to help read
 * pages (decode-pool.ts): measured, 1.2 × the records/s of the same chunks kept raw, at
 * 15 MiB less peak RSS behind a slow sink (docs/performance.md).
 *
 * Layout (little-endian): the stream name and shard id once (u16 length, UTF-8), then per
 * event a flag byte: 1 for the previous event's record again (a record decoded into
 * several events), 0 for a new record: sequence number (u16 length, ASCII), sub-sequence
 * number (u32), partition key (u16 length, UTF-8), explicit hash key (u16 length, ASCII;
 * 0xffff: none), aggregated (u8), arrival time (f64, ms since epoch), data (u32 length,
 * bytes).
 */

const FIRST_CAPACITY = 16 * 1024;
const NO_HASH_KEY = 0xffff;
const SAME_RECORD = 1;
const NEW_RECORD = 0;

/** Packs the records of one chunk's events, in the events' order. */
export class KeptRecordsWriter {
  private buffer = Buffer.alloc(0);
  private used = 0;
  private previous: UserRecord | null = null;

  /** The record of the chunk's next event. */
  add(record: UserRecord): void {
    const previous = this.previous;
    if (previous === null) {
      this.text16(record.streamName, 'utf8');
      this.text16(record.shardId, 'utf8');
    } else if (previous.shardId !== record.shardId || previous.streamName !== record.streamName) {
      throw new Error('unreachable: one chunk of two shards');
    }
    this.previous = record;
    if (previous === record) {
      this.reserve(1);
      this.used = this.buffer.writeUInt8(SAME_RECORD, this.used);
      return;
    }
    this.reserve(1);
    this.used = this.buffer.writeUInt8(NEW_RECORD, this.used);
    this.text16(record.sequenceNumber, 'latin1');
    this.reserve(4);
    this.used = this.buffer.writeUInt32LE(record.subSequenceNumber, this.used);
    this.text16(record.partitionKey, 'utf8');
    if (record.explicitHashKey === undefined) {
      this.reserve(2);
      this.used = this.buffer.writeUInt16LE(NO_HASH_KEY, this.used);
    } else {
      this.text16(record.explicitHashKey, 'latin1');
    }
    this.reserve(1 + 8 + 4 + record.data.byteLength);
    this.used = this.buffer.writeUInt8(record.aggregated ? 1 : 0, this.used);
    this.used = this.buffer.writeDoubleLE(record.approximateArrivalTimestamp.getTime(), this.used);
    this.used = this.buffer.writeUInt32LE(record.data.byteLength, this.used);
    this.buffer.set(record.data, this.used);
    this.used += record.data.byteLength;
  }

  /** The packed records, a buffer of their own (transferable); this starts empty again. */
  take(): Uint8Array {
    const exact = new Uint8Array(this.used);
    exact.set(this.buffer.subarray(0, this.used));
    releaseNow(this.buffer);
    this.buffer = Buffer.alloc(0);
    this.used = 0;
    this.previous = null;
    return exact;
  }

  private text16(text: string, encoding: 'utf8' | 'latin1'): void {
    const length = Buffer.byteLength(text, encoding);
    // The longest is a partition key: 256 characters, at most 1,024 UTF-8 bytes.
    if (length >= NO_HASH_KEY) throw new Error(`unreachable: a record field of ${length} bytes`);
    this.reserve(2 + length);
    this.used = this.buffer.writeUInt16LE(length, this.used);
    this.used += this.buffer.write(text, this.used, length, encoding);
  }

  private reserve(bytes: number): void {
    const needed = this.used + bytes;
    if (needed <= this.buffer.byteLength) return;
    let capacity = Math.max(FIRST_CAPACITY, this.buffer.byteLength * 2);
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafeSlow(capacity);
    this.buffer.copy(grown, 0, 0, this.used);
    releaseNow(this.buffer);
    this.buffer = grown;
  }
}

/**
 * The records KeptRecordsWriter packed and compressKeptRecords compressed, one per event
 * (an event's record again where several events came from one); their data are views of
 * one buffer of them.
 */
export function readKeptRecords(compressed: Uint8Array): UserRecord[] {
  if (compressed.byteLength === 0) return [];
  const buffer = inflateRawSync(compressed);
  let at = 0;
  const text16 = (encoding: 'utf8' | 'latin1'): string => {
    const length = buffer.readUInt16LE(at);
    at += 2;
    const text = buffer.toString(encoding, at, at + length);
    at += length;
    return text;
  };
  if (buffer.byteLength === 0) return [];
  const streamName = text16('utf8');
  const shardId = text16('utf8');
  const records: UserRecord[] = [];
  while (at < buffer.byteLength) {
    const flag = buffer.readUInt8(at);
    at += 1;
    const previous = records.at(-1);
    if (flag === SAME_RECORD && previous) {
      records.push(previous);
      continue;
    }
    if (flag !== NEW_RECORD) throw new Error(`kept records: an unknown flag ${flag} at ${at - 1}`);
    const sequenceNumber = text16('latin1');
    const subSequenceNumber = buffer.readUInt32LE(at);
    at += 4;
    const partitionKey = text16('utf8');
    let explicitHashKey: string | undefined;
    if (buffer.readUInt16LE(at) === NO_HASH_KEY) at += 2;
    else explicitHashKey = text16('latin1');
    const aggregated = buffer.readUInt8(at) === 1;
    const arrivalMs = buffer.readDoubleLE(at + 1);
    const dataLength = buffer.readUInt32LE(at + 9);
    at += 13;
    if (at + dataLength > buffer.byteLength) throw new Error('kept records: cut short');
    records.push({
      streamName,
      shardId,
      sequenceNumber,
      subSequenceNumber,
      partitionKey,
      ...(explicitHashKey === undefined ? {} : { explicitHashKey }),
      aggregated,
      approximateArrivalTimestamp: new Date(arrivalMs),
      data: new Uint8Array(buffer.buffer, buffer.byteOffset + at, dataLength),
    });
    at += dataLength;
  }
  return records;
}

const deflateRawAsync = promisify(deflateRaw);

/** KeptRecordsWriter's packed records compressed (on libuv's threads), a buffer of their own. */
export async function compressKeptRecords(packed: Uint8Array): Promise<Uint8Array> {
  const compressed = await deflateRawAsync(packed, { level: 1 });
  releaseNow(packed);
  const own = compressed.byteOffset === 0 && compressed.byteLength === compressed.buffer.byteLength;
  return own ? new Uint8Array(compressed.buffer) : new Uint8Array(compressed);
}
