import { isSentinel } from '../core/checkpoint.js';
import type { Lease } from '../leases/lease.js';
import type { KinesisStreamApi } from '../kinesis/stream-api.js';

/**
 * How far behind a lease's checkpoint is, for the operator: the age of the first record
 * after the checkpoint (one GetShardIterator + one GetRecords of one record), `0s` when
 * nothing is waiting, `done` at SHARD_END. A KPL aggregate only partly checkpointed
 * counts as waiting (the relay resumes inside it). Null when Kinesis cannot tell.
 */
export async function describeLag(
  api: KinesisStreamApi,
  lease: Lease,
  now: Date = new Date(),
): Promise<string | null> {
  const { checkpoint } = lease;
  if (checkpoint === 'SHARD_END') return 'done';
  if (checkpoint === 'AT_TIMESTAMP' && !lease.checkpointTimestamp) return null;
  const start = !isSentinel(checkpoint)
    ? checkpoint.subSequenceNumber > 0
      ? { type: 'AT_SEQUENCE_NUMBER' as const, sequenceNumber: checkpoint.sequenceNumber }
      : { type: 'AFTER_SEQUENCE_NUMBER' as const, sequenceNumber: checkpoint.sequenceNumber }
    : checkpoint === 'AT_TIMESTAMP'
      ? { type: 'AT_TIMESTAMP' as const, timestamp: new Date(lease.checkpointTimestamp ?? 0) }
      : { type: checkpoint };
  // A multi-stream lease names its shard apart from its key.
  const iterator = await api.getShardIterator(lease.shardId ?? lease.leaseKey, start);
  const page = await api.getRecords(iterator, 1);
  const arrival = page.records[0]?.ApproximateArrivalTimestamp;
  if (arrival) return formatAge(now.getTime() - arrival.getTime());
  // Nothing after the checkpoint yet: caught up (MillisBehindLatest says how stale the tip is).
  return page.millisBehindLatest === null ? null : formatAge(page.millisBehindLatest);
}

export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  return `${(minutes / 60).toFixed(1)}h`;
}
