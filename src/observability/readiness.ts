/** What /readyz looks at: the lease table sync and each owned shard's last read. */
export interface ReadinessInput {
  readonly leasesSynced: boolean;
  /** Shards this worker consumes, with when each last completed a GetRecords call. */
  readonly lastReads: ReadonlyMap<string, { at: number }>;
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
  return { ready: true };
}
