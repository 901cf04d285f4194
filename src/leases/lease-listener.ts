import type { Lease } from './lease.js';
import type { LeasedShard } from './stream-scopes.js';

/** What the lease coordinator tells the relay about the leases this worker holds. */
export interface LeaseListener {
  /** A lease was taken: start a consumer for it. */
  acquired(lease: Lease, shard: LeasedShard): void;
  /** A held lease was lost: stop its consumer without checkpointing. */
  lost(shardId: string): void;
  /** A held lease was not renewed in time: stop reading (in-flight records go on). */
  paused(shardId: string): void;
  /** A paused lease was renewed again: read on from where it stopped. */
  resumed(shardId: string): void;
  /**
   * Another worker asked for this lease (a balancing steal): stop reading, finish what is
   * in flight, checkpoint, then release it (the renewer hands it to that worker).
   */
  handoff(shardId: string, nextOwner: string): void;
}
