import type { Lease } from '../../src/leases/lease.js';

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
