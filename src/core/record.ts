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
