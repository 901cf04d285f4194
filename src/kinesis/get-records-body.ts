import type { GetRecordsCommandOutput, _Record } from '@aws-sdk/client-kinesis';
import { isAscii } from 'node:buffer';
import { type Json, scanGetRecordsBody } from './get-records-scan.js';

/*
 * A GetRecords response body read by our own code. The SDK's generic JSON deserializer
 * walks the operation's schema for every member of every record and checks each
 * record's base64 with a regular expression: 17 % of the relay's main thread in the
 * benchmark profile, more than the JSON.parse of the body itself. This reader does the
 * same for the one response shape that matters and yields exactly what the SDK yields
 * (get-records-body.test.ts compares both on recorded and edge-case responses).
 *
 * It only takes the plain case and returns null for anything else — a `__type` key, a
 * member of an unexpected type, child shards, non-ASCII text, a backslash, base64 the SDK
 * would reject — and the caller hands those bytes to the SDK, so every unusual response,
 * and every error the SDK would raise, still comes from the SDK.
 *
 * The records' data is decoded into one buffer per page, each record's bytes a view of
 * it: one allocation per page instead of one per record (an own ArrayBuffer per record
 * cost ~0.4 µs, and one more object per waiting record for the garbage collector). A
 * record held past routing gets a copy of its bytes (PendingBatch.add), so
 * it does not keep its page alive.
 */

export type GetRecordsBody = Omit<GetRecordsCommandOutput, '$metadata'>;

const BACKSLASH = 0x5c;
const MINUS = '-'.charCodeAt(0);
const UNDERSCORE = '_'.charCodeAt(0);

/**
 * The whole page, its records listed. The body is parsed at once: a caller that lists the
 * records holds them all until the page is routed anyway, and one JSON.parse of the body
 * allocates half of what one per record does (each record's text, then its members): in
 * the relay on the main thread, the record-at-a-time reader cost 5-10 % more CPU there
 * (docs/performance.md).
 */
export function parseGetRecordsBody(bytes: Uint8Array): GetRecordsBody | null {
  const buffer = plainBody(bytes);
  if (buffer === null) return null;
  let document: Json;
  try {
    document = JSON.parse(buffer.toString('latin1')) as Json;
  } catch {
    return null;
  }
  if (!isPlainObject(document)) return null;
  const records = document['Records'];
  const next = document['NextShardIterator'];
  const behind = document['MillisBehindLatest'];
  if (
    (records != null && !Array.isArray(records)) ||
    (next != null && typeof next !== 'string') ||
    (behind != null && typeof behind !== 'number') ||
    // Child shards come once per shard, at its end: not worth a second reader.
    document['ChildShards'] != null
  ) {
    return null;
  }
  const out: { -readonly [K in keyof GetRecordsBody]?: GetRecordsBody[K] } = {};
  if (records != null) {
    const data = new PageData(base64Total(records));
    const list: _Record[] = [];
    for (const value of records) {
      const record = readRecord(value, data);
      if (record === null) return null;
      list.push(record);
    }
    out.Records = list;
  }
  if (next != null) out.NextShardIterator = next;
  if (behind != null) out.MillisBehindLatest = behind;
  // Records is optional on the wire, as in the SDK's output (its type says otherwise).
  return out as GetRecordsBody;
}

/**
 * ASCII without a backslash, as a Buffer, or null. Then every string in the document is
 * ASCII and ends at the next quote (the scanner's premise), and base64 checks can work on
 * bytes-as-characters (Node's base64 decoder reads only the low byte of a wider character,
 * which the SDK's regular expression would reject).
 */
function plainBody(bytes: Uint8Array): Buffer | null {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.byteLength === 0 || !isAscii(buffer) || buffer.includes(BACKSLASH)) return null;
  return buffer;
}

/** What the records' base64 decodes to, all together (Buffer.byteLength's reading). */
function base64Total(records: readonly Json[]): number {
  let total = 0;
  for (const record of records) {
    const data = isPlainObject(record) ? record['Data'] : undefined;
    if (typeof data === 'string') total += Buffer.byteLength(data, 'base64');
  }
  return total;
}

/** What a page says besides its records (readGetRecordsBody hands those out one by one). */
export interface GetRecordsPageHead {
  readonly NextShardIterator?: string;
  readonly MillisBehindLatest?: number;
  /** The body has a Records member (possibly empty). */
  readonly hasRecords: boolean;
  readonly recordCount: number;
  /** The records' data, one buffer of the page's (each record's Data is a view of it). */
  readonly data: Uint8Array | null;
}

/**
 * As parseGetRecordsBody, handing each record to `onRecord` as it is read instead of
 * listing them, so a caller that is done with a record lets it go before the next is
 * read (a page worker keeps none of them: docs/performance.md). The body is never one
 * string: each record is parsed alone (get-records-scan.ts), so no more than one record's
 * strings exist at a time. Null, as there, for a body the SDK must read; records handed
 * out before that are to be dropped by the caller.
 */
export function readGetRecordsBody(
  bytes: Uint8Array,
  onRecord: (record: _Record) => void,
): GetRecordsPageHead | null {
  const buffer = plainBody(bytes);
  if (buffer === null) return null;
  // Sized before the records are read, for the most a body of that many bytes can hold:
  // base64 is 4 characters for 3 bytes. A fifth or so more than the page's data, whose
  // end is never written; this caller frees it once the page is read (PageChunker).
  const data = new PageData(Math.floor(buffer.byteLength / 4) * 3);
  const page = scanGetRecordsBody(buffer, (value) => {
    const record = readRecord(value, data);
    if (record === null) return false;
    onRecord(record);
    return true;
  });
  if (page === null) return null;
  return {
    ...(page.nextShardIterator !== null ? { NextShardIterator: page.nextShardIterator } : {}),
    ...(page.millisBehindLatest !== null ? { MillisBehindLatest: page.millisBehindLatest } : {}),
    hasRecords: page.hasRecords,
    recordCount: page.recordCount,
    data: page.hasRecords ? data.bytes : null,
  };
}

function readRecord(value: Json, page: PageData): _Record | null {
  if (!isPlainObject(value)) return null;
  const sequenceNumber = value['SequenceNumber'];
  const data = value['Data'];
  const arrival = value['ApproximateArrivalTimestamp'];
  const partitionKey = value['PartitionKey'];
  const encryption = value['EncryptionType'];
  if (
    (sequenceNumber != null && typeof sequenceNumber !== 'string') ||
    (data != null && typeof data !== 'string') ||
    (arrival != null && (typeof arrival !== 'number' || !Number.isFinite(arrival))) ||
    (partitionKey != null && typeof partitionKey !== 'string') ||
    (encryption != null && typeof encryption !== 'string')
  ) {
    return null;
  }
  // Members in the SDK's order, and only those present (as its reader sets them).
  const record: { -readonly [K in keyof _Record]?: _Record[K] } = {};
  if (sequenceNumber != null) record.SequenceNumber = sequenceNumber;
  if (data != null) {
    const bytes = page.decode(data);
    if (bytes === null) return null;
    record.Data = bytes;
  }
  // The SDK's epoch-seconds reading (parseEpochTimestamp): rounded to the millisecond.
  if (arrival != null) record.ApproximateArrivalTimestamp = new Date(Math.round(arrival * 1000));
  if (partitionKey != null) record.PartitionKey = partitionKey;
  if (encryption != null) record.EncryptionType = encryption as _Record['EncryptionType'];
  return record as _Record;
}

/** One page's record data: one buffer, sized for every record's base64, handed out in views. */
class PageData {
  readonly bytes: Buffer;
  private used = 0;

  constructor(totalBytes: number) {
    // Every byte handed out is written first (the decode must fill what it promises).
    this.bytes = Buffer.allocUnsafeSlow(totalBytes);
  }

  /**
   * Standard base64 with up to two '=' at the end, as the SDK's check accepts it, decoded
   * into the next part of the page's buffer; null for anything else. Node's decoder skips
   * characters it does not know, so a shorter result than the length promises means there
   * was one; it also reads the URL alphabet's '-' and '_', which are looked for separately.
   */
  decode(text: string): Uint8Array | null {
    if (text.length % 4 !== 0) return null;
    const expected = Buffer.byteLength(text, 'base64');
    if (this.used + expected > this.bytes.byteLength) return null;
    const written = this.bytes.write(text, this.used, expected, 'base64');
    if (written !== expected || hasUrlAlphabet(text) || misplacedPadding(text)) return null;
    const bytes = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + this.used, expected);
    this.used += expected;
    return bytes;
  }
}

function hasUrlAlphabet(text: string): boolean {
  return (
    text.includes(String.fromCharCode(MINUS)) || text.includes(String.fromCharCode(UNDERSCORE))
  );
}

/** '=' anywhere but the last two characters (Node stops or skips there; the SDK rejects). */
function misplacedPadding(text: string): boolean {
  const first = text.indexOf('=');
  return first !== -1 && first < text.length - 2;
}

function isPlainObject(value: Json | undefined): value is { [key: string]: Json } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !Object.prototype.hasOwnProperty.call(value, '__type')
  );
}
