import {
  stalledReason,
  stalledShards,
  stuckReason,
  stuckSinks,
  type ReadinessInput,
} from './readiness.js';

/** What /healthz looks at beyond the event loop answering: the inputs of /readyz. */
export type LivenessInput = Omit<ReadinessInput, 'stallAfterMs'> & {
  /** The stall that fails liveness (`metrics.livenessStallAfterMs` resolved); 0: never. */
  readonly livenessStallAfterMs: number;
};

export interface Liveness {
  readonly alive: boolean;
  readonly reason?: string;
}

/** `metrics.livenessStallAfterMs`, or 3 x `metrics.stallAfterMs` when not set. */
export function livenessStallMs(metrics: {
  readonly stallAfterMs: number;
  readonly livenessStallAfterMs: number | null;
}): number {
  return metrics.livenessStallAfterMs ?? 3 * metrics.stallAfterMs;
}

/**
 * Alive unless a stall that /readyz reports has lasted `livenessStallAfterMs`: the relay
 * then holds its leases and delivers nothing, and only a restart (its leases go to other
 * replicas, or come back to a fresh process) gets the shards moving again. Readiness flags
 * a stall at once; liveness waits much longer, since a restart re-reads everything after
 * the last checkpoint.
 *
 * Not a stall for liveness:
 * - before the lease table sync (startup; DynamoDB not reached yet: a restart would not
 *   reach it either);
 * - a sink holding events up to its by-design wait (`graceMs`, its `buffer.maxAgeMs`);
 * - a shard not reading while some sink is full (its in-flight bound or the memory budget
 *   spent): it waits for room, which a slow sink makes as it finishes batches; the full
 *   sink is judged by its own progress instead, so a stuck one still fails liveness;
 * - a caught-up shard: it still completes a GetRecords call every idle interval;
 * - a shard waiting for its parents (no read yet), or one no longer owned.
 */
export function evaluateLiveness(input: LivenessInput): Liveness {
  const thresholdMs = input.livenessStallAfterMs;
  if (thresholdMs === 0 || !input.leasesSynced) return { alive: true };
  const stuck = stuckSinks(input.sinkProgress, thresholdMs, input.now);
  if (stuck.length > 0) return { alive: false, reason: stuckReason(stuck, thresholdMs) };
  const waitingForRoom = [...input.sinkProgress.values()].some((progress) => progress.full);
  if (waitingForRoom) return { alive: true };
  const stalled = stalledShards(input, thresholdMs);
  if (stalled.length > 0) return { alive: false, reason: stalledReason(stalled, thresholdMs) };
  return { alive: true };
}
