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
  const stalled = stalledShards(input, input.stallAfterMs);
  if (stalled.length > 0)
    return { ready: false, reason: stalledReason(stalled, input.stallAfterMs) };
  const stuck = stuckSinks(input.sinkProgress, input.stallAfterMs, input.now);
  if (stuck.length > 0) return { ready: false, reason: stuckReason(stuck, input.stallAfterMs) };
  return { ready: true };
}

/** What the stall checks read (the liveness check reads the same, with its own threshold). */
export type StallInput = Pick<ReadinessInput, 'lastReads' | 'ownedShards' | 'now'>;

/** Owned shards whose last completed read is older than `thresholdMs`, sorted. */
export function stalledShards(input: StallInput, thresholdMs: number): string[] {
  const stalled: string[] = [];
  for (const shard of input.ownedShards) {
    const read = input.lastReads.get(shard);
    if (read && input.now - read.at > thresholdMs) stalled.push(shard);
  }
  return stalled.sort();
}

/** Sinks holding events with no batch finished for `thresholdMs` plus their grace, sorted. */
export function stuckSinks(
  sinkProgress: ReadonlyMap<string, SinkProgress>,
  thresholdMs: number,
  now: number,
): string[] {
  return [...sinkProgress]
    .filter(
      ([, progress]) =>
        sinkProgressAgeSeconds(progress, now) * 1000 > thresholdMs + (progress.graceMs ?? 0),
    )
    .map(([sink]) => sink)
    .sort();
}

export function stalledReason(shards: readonly string[], thresholdMs: number): string {
  return `shard(s) stalled longer than ${thresholdMs} ms: ${shards.join(', ')}`;
}

export function stuckReason(sinks: readonly string[], thresholdMs: number): string {
  return `sink(s) without progress for longer than ${thresholdMs} ms: ${sinks.join(', ')}`;
}
