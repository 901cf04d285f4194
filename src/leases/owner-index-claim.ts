import type { Logger } from '../observability/logger.js';
import type { Lease } from './lease.js';
import type { LeaseRenewer } from './lease-renewer.js';
import type { LeaseStore } from './lease-store.js';
import type { LeaseTaker } from './lease-taker.js';
import type { OwnLeases } from './own-leases.js';

/** Says at start (and when it appears) whether the claim pass can use KCL 3's owner index. */
export function logOwnerIndex(log: Logger, table: string, active: boolean): void {
  if (active) {
    log.info(
      { table },
      'lease table has the owner index (LeaseOwnerToLeaseKeyIndex): the claim pass queries it instead of scanning',
    );
  } else {
    log.info(
      { table },
      'lease table has no ACTIVE owner index (LeaseOwnerToLeaseKeyIndex): the claim pass scans the table; docs/operations.md "Lease table cost" shows how to add it',
    );
  }
}

export interface OwnerIndexClaimOptions {
  readonly workerId: string;
  /** True for a lease of a stream this application consumes. */
  readonly consumes: (lease: Lease) => boolean;
  readonly stopped: () => boolean;
}

/**
 * The claim pass with the owner index: the keys in our name from the index (eventually
 * consistent, keys only), then a consistent read of each lease we do not hold, judged
 * by the same rules as in a scan. No scan: a released lease given to us costs one
 * GetItem and one take.
 */
export class OwnerIndexClaim {
  /** Leases in our name known finished (SHARD_END is final): the pass skips them. */
  private readonly finishedOwn = new Set<string>();

  constructor(
    private readonly store: LeaseStore,
    private readonly renewer: LeaseRenewer,
    private readonly own: OwnLeases,
    private readonly taker: LeaseTaker,
    private readonly options: OwnerIndexClaimOptions,
  ) {}

  async pass(): Promise<void> {
    const { workerId } = this.options;
    const keys = await this.store.listLeaseKeysOwnedBy(workerId);
    const present = new Set(keys);
    for (const key of this.finishedOwn) if (!present.has(key)) this.finishedOwn.delete(key);
    const holds = (key: string) => this.renewer.holds(key);
    const unheld = keys.filter((key) => !holds(key) && !this.finishedOwn.has(key));
    const leases: Lease[] = [];
    for (const key of unheld) {
      if (this.options.stopped()) return;
      const lease = await this.store.getLease(key);
      if (!lease || !this.options.consumes(lease)) continue;
      if (lease.checkpoint === 'SHARD_END' && lease.leaseOwner === workerId)
        this.finishedOwn.add(key);
      leases.push(lease);
    }
    // No expiry here: the index does not show the whole table; the full pass watches it.
    const { claim } = this.own.review(leases, holds, new Set());
    await this.taker.claim(claim);
  }
}
