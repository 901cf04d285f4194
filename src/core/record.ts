/**
 * A user record as the relay sees it: one KPL sub-record, or one plain Kinesis record
 * (sub-sequence number 0). Its position (sequence number + sub-sequence number) is what
 * checkpoints are made of.
 */
export interface RecordPosition {
  /** Kinesis sequence number: a decimal string of up to 128 bits. */
  readonly sequenceNumber: string;
  /** Index inside a KPL aggregated record; 0 for a record that was not aggregated. */
  readonly subSequenceNumber: number;
}

export interface UserRecord extends RecordPosition {
  readonly streamName: string;
  readonly shardId: string;
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  /** True when the record came out of a KPL aggregate. */
  readonly aggregated: boolean;
  readonly approximateArrivalTimestamp: Date;
  readonly data: Uint8Array;
}

/**
 * Whether bytes span their whole ArrayBuffer, so holding them holds nothing else. A page's
 * records are views of one buffer (get-records-body.ts), and the SDK's decoders write into
 * Node's shared 8 KB pool: such bytes pin their neighbours for as long as they are held.
 */
export function ownsItsBuffer(data: Uint8Array): boolean {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
}

/** The copy made for each record that was kept; it lives as long as the record does. */
const ownCopies = new WeakMap<UserRecord, UserRecord>();

/**
 * The record as it may be held after its page is routed: with bytes of its own. Only
 * where a record outlives routing (a batch keeping it for a dead-letter entry) is the
 * copy made; records that are only routed share their page's buffer, one allocation per
 * page instead of one per record. One copy per record, however many of its events and
 * sinks keep it: a record of 100 events kept by two sinks is not copied 200 times.
 */
export function withOwnBytes(record: UserRecord): UserRecord {
  if (ownsItsBuffer(record.data)) return record;
  let copy = ownCopies.get(record);
  if (!copy) {
    copy = { ...record, data: new Uint8Array(record.data) };
    ownCopies.set(record, copy);
  }
  return copy;
}

/**
 * Just the position of a record, for what remembers where a record was after it was
 * routed: a record's bytes are a view of its whole page, which holding the record keeps.
 */
export function positionOf(position: RecordPosition): RecordPosition {
  return { sequenceNumber: position.sequenceNumber, subSequenceNumber: position.subSequenceNumber };
}

/** Orders two positions; sequence numbers are compared as integers, not as strings. */
export function comparePositions(a: RecordPosition, b: RecordPosition): number {
  if (a.sequenceNumber !== b.sequenceNumber) {
    const left = BigInt(a.sequenceNumber);
    const right = BigInt(b.sequenceNumber);
    return left < right ? -1 : 1;
  }
  return a.subSequenceNumber - b.subSequenceNumber;
}
