import type { Lease } from '../../src/leases/lease.js';
import type { LeaseListener } from '../../src/leases/lease-listener.js';

/** A lease row as a fresh shard has it (counter 1, at TRIM_HORIZON), with `extra` on top. */
export function leaseFixture(
  leaseKey: string,
  leaseOwner: string | null,
  extra: Partial<Lease> = {},
): Lease {
  return {
    leaseKey,
    leaseOwner,
    leaseCounter: 1,
    checkpoint: 'TRIM_HORIZON',
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
    startingHashKey: null,
    endingHashKey: null,
    ...extra,
  };
}

/** A coordinator listener that only reports acquisitions (to `acquired`), if anything. */
export function acquiringListener(
  acquired: LeaseListener['acquired'] = () => undefined,
): LeaseListener {
  return {
    acquired,
    lost: () => undefined,
    paused: () => undefined,
    resumed: () => undefined,
    handoff: () => undefined,
  };
}
