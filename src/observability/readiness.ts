import { sinkProgressAgeSeconds, type SinkProgress } from './metrics.js';

/** What /readyz looks at: the lease table sync, each owned shard's last read, each sink. */
export interface ReadinessInput {
  readonly leasesSynced: boolean;
  /** Shards this worker consumes, with when each last completed a GetRecords call. */
  readonly lastReads: ReadonlyMap<string, { at: number }>;
  /** Each sink: whether it holds events, and when it last finished a batch. */
  readonly sinkProgress: ReadonlyMap<string, SinkProgress>;
  readonly ownedShards: readonly string[];
  readonly stallAfterMs: number;
  readonly now: number;
}

export interface Readiness {
  readonly ready: boolean;
  readonly reason?: string;
}

/**
 * Ready once the lease table was synced, and while no owned shard has gone longer than
 * `stallAfterMs` without a GetRecords call completing. A healthy loop reads at least every
 * idle interval even when caught up, so a long silence means it is blocked (a sink's
 * backpressure, throttling without end, a hung request). Shards still waiting for their
 * parents have not started reading and are not counted.
 *
 * Also not ready while a sink holds events and has finished (acknowledged or dead-lettered)
 * no batch for `stallAfterMs` (plus the time its open batch may wait by design): a load stuck on a lock or a dead connection, or a
 * destination failing without end. Its shards may still read (its buffer is not full yet),
 * so the shard check alone would not see it.
 */
export function evaluateReadiness(input: ReadinessInput): Readiness {
  if (!input.leasesSynced) return { ready: false, reason: 'lease table not synced yet' };
  const stalled: string[] = [];
  for (const shard of input.ownedShards) {
    const read = input.lastReads.get(shard);
    if (read && input.now - read.at > input.stallAfterMs) stalled.push(shard);
  }
  if (stalled.length > 0) {
    return {
      ready: false,
      reason: `shard(s) stalled longer than ${input.stallAfterMs} ms: ${stalled.sort().join(', ')}`,
    };
  }
  const stuck = [...input.sinkProgress]
    .filter(
      ([, progress]) =>
        sinkProgressAgeSeconds(progress, input.now) * 1000 >
        input.stallAfterMs + (progress.graceMs ?? 0),
    )
    .map(([sink]) => sink);
  if (stuck.length > 0) {
    return {
      ready: false,
      reason: `sink(s) without progress for longer than ${input.stallAfterMs} ms: ${stuck.sort().join(', ')}`,
    };
  }
  return { ready: true };
}
