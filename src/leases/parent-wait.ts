import { sleep } from '../core/backoff.js';
import type { MonotonicClock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Lease } from './lease.js';

export interface ParentWaitSource {
  /** The take passes' latest successful scan (they run every claim interval), if any. */
  latestScan(): { readonly leases: readonly Lease[]; readonly at: number } | undefined;
  /** A fresh scan (it becomes the latest). */
  scan(): Promise<readonly Lease[]>;
  /** A latest scan older than this is not trusted: scan again. */
  readonly failoverMs: number;
  /** How long to wait between looks. */
  readonly retryMs: number;
  readonly now: MonotonicClock;
}

/**
 * Resolves true when every parent lease (`parentKeys`) has reached SHARD_END or is gone;
 * false when `signal` aborts first. Reads the latest scan rather than scanning per waiting
 * child; scans only when that is older than the failover time, and a failed scan is
 * retried, never fatal.
 */
export async function waitForParentLeases(
  child: Lease,
  parentKeys: readonly string[],
  source: ParentWaitSource,
  signal: AbortSignal,
  log: Logger,
): Promise<boolean> {
  if (parentKeys.length === 0) return true;
  while (!signal.aborted) {
    const latest = source.latestScan();
    let scanned: readonly Lease[] | undefined = latest?.leases;
    if (!latest || source.now() - latest.at > source.failoverMs) {
      scanned = await source.scan().catch((error: unknown) => {
        log.warn(
          { shardId: child.leaseKey, err: errorMessage(error) },
          'reading the parent leases failed; will retry',
        );
        return undefined;
      });
    }
    if (scanned === undefined) {
      await sleep(source.retryMs, signal);
      continue;
    }
    const leases = new Map(scanned.map((l) => [l.leaseKey, l]));
    const waiting = parentKeys.filter((id) => {
      const parent = leases.get(id);
      return parent !== undefined && parent.checkpoint !== 'SHARD_END';
    });
    if (waiting.length === 0) return true;
    log.debug({ shardId: child.leaseKey, waiting }, 'waiting for parent shards to finish');
    await sleep(source.retryMs, signal);
  }
  return false;
}
