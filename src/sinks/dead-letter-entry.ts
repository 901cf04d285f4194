import type { UserRecord } from '../core/record.js';
import type { DeadLetterEntry, DeadLetterReason } from './sink.js';

export function deadLetterEntry(
  record: UserRecord,
  reason: DeadLetterReason,
  error: string,
  sink: string | null = null,
): DeadLetterEntry {
  return {
    stream: record.streamName,
    shardId: record.shardId,
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: record.subSequenceNumber,
    partitionKey: record.partitionKey,
    arrivalTime: record.approximateArrivalTimestamp.toISOString(),
    reason,
    error,
    sink,
    data: Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength).toString(
      'base64',
    ),
  };
}
