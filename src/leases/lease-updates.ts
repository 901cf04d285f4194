import { isPinnedStart, type Checkpoint, type CheckpointWrite } from '../core/checkpoint.js';
import { LEASE_ATTRIBUTES as A, type Lease } from './lease.js';
import { checkpointAttributes } from './lease-codec.js';

/**
 * One conditional update of a lease row: the expressions and their values, as data. The
 * lease protocol's writes are defined here; the store sends them (lease-store.ts).
 */
export interface LeaseUpdate {
  readonly update: string;
  readonly condition: string;
  readonly values: Record<string, unknown>;
  readonly names?: Record<string, string>;
  /** Return the item as written. */
  readonly returnNew?: boolean;
}

/** What a renewal learnt: the new counter, and the next owner if a handoff was asked. */
export interface LeaseRenewal {
  readonly counter: number;
  readonly handoffTo: string | null;
}

/** The handoff state of a lease as a write by `owner` left it. */
export function renewal(
  item: Record<string, unknown> | undefined,
  owner: string,
  counter: number,
): LeaseRenewal {
  const next = item?.[A.owner];
  const handing = item?.[A.checkpointOwner] === owner && typeof next === 'string' && next !== owner;
  return { counter, handoffTo: handing ? next : null };
}

/**
 * Bumps the counter of a lease we hold; fails if it moved or changed owner. During a
 * graceful handoff (KCL 3) the owner handing over is `checkpointOwner` and renews as
 * such; the item written then names the next owner, waiting for us to finish.
 */
export function renewUpdate(owner: string, expectedCounter: number): LeaseUpdate {
  return {
    update: 'SET #counter = :next',
    condition: '#counter = :expected AND (#owner = :owner OR #checkpointOwner = :owner)',
    values: { ':next': expectedCounter + 1, ':expected': expectedCounter, ':owner': owner },
    names: { '#checkpointOwner': A.checkpointOwner },
    returnNew: true,
  };
}

/**
 * Asks the owner of a lease to hand it over (a balancing steal, as KCL 3 does it):
 * `leaseOwner` becomes the next owner and `checkpointOwner` the current one, counter
 * unchanged so the owner's renewals go on. The owner notices at its next renewal,
 * stops reading, checkpoints and completes the handoff; the next owner starts there.
 * Conditional on the owner and on no handoff in progress.
 */
export function requestHandoffUpdate(currentOwner: string | null, nextOwner: string): LeaseUpdate {
  return {
    update: 'SET #owner = :next, #checkpointOwner = :current',
    // Not on the counter (KCL 3 neither): the owner renews every renew interval, and a
    // scan of a large table is often older than that by the time the request is sent.
    condition: '#owner = :current AND attribute_not_exists(#checkpointOwner)',
    values: { ':next': nextOwner, ':current': currentOwner },
    names: { '#checkpointOwner': A.checkpointOwner },
  };
}

/**
 * The owner handing a lease over is done (its last checkpoint is written): removing
 * `checkpointOwner` and bumping the counter lets the next owner start.
 */
export function completeHandoffUpdate(owner: string, expectedCounter: number): LeaseUpdate {
  return {
    update: 'REMOVE #checkpointOwner SET #counter = :next',
    condition: '#counter = :expected AND #checkpointOwner = :owner',
    values: { ':next': expectedCounter + 1, ':expected': expectedCounter, ':owner': owner },
    names: { '#checkpointOwner': A.checkpointOwner },
  };
}

/**
 * The worker that asked for a handoff withdraws it (it is stopping before it took the
 * lease): `leaseOwner` is the owner handing over again and the marker goes. The counter
 * is left alone, so that owner's renewals go on; if it had already stopped reading for the
 * handoff, its completion finds the lease its own and its claim pass takes it again
 * (LeaseRenewer.release). Conditional on the handoff still being ours and in progress.
 */
export function withdrawHandoffUpdate(asker: string, currentOwner: string): LeaseUpdate {
  return {
    update: 'SET #owner = :current REMOVE #checkpointOwner',
    condition: '#owner = :asker AND #checkpointOwner = :current',
    values: { ':asker': asker, ':current': currentOwner },
    names: { '#checkpointOwner': A.checkpointOwner },
  };
}

/** Takes a lease whose counter we last saw (expired, unowned or stolen). */
export function takeUpdate(lease: Lease, newOwner: string): LeaseUpdate {
  return {
    // checkpointOwner is KCL 3's handoff marker: a fresh assignment clears it, as in the KCL.
    update:
      'SET #owner = :owner, #counter = :next, #switches = if_not_exists(#switches, :zero) + :switched REMOVE #checkpointOwner',
    condition: '#counter = :expected',
    values: {
      ':owner': newOwner,
      ':next': lease.leaseCounter + 1,
      ':expected': lease.leaseCounter,
      ':switched': lease.leaseOwner !== newOwner ? 1 : 0,
      ':zero': 0,
    },
    names: { '#switches': A.ownerSwitches, '#checkpointOwner': A.checkpointOwner },
  };
}

/**
 * Writes a checkpoint, conditional on owner and counter, as the KCL does. It renews the
 * lease too, and reports a handoff request as a renewal does.
 */
export function checkpointUpdate(
  owner: string,
  expectedCounter: number,
  write: CheckpointWrite,
): LeaseUpdate {
  // A pinned start is the AT_TIMESTAMP sentinel with its time (as the operator command
  // writes one); any other checkpoint clears that time.
  const pinned = isPinnedStart(write) ? write.atTimestamp : null;
  const attributes = checkpointAttributes(pinned ? 'AT_TIMESTAMP' : (write as Checkpoint));
  return {
    // A KCL prepareCheckpoint leaves pendingCheckpoint*: a real checkpoint clears it, as
    // the KCL's own checkpoint update does.
    update: pinned
      ? 'SET #counter = :next, #checkpoint = :checkpoint, #sub = :sub, #switches = :zero, #atTimestamp = :at REMOVE #pending, #pendingSub, #pendingState'
      : 'SET #counter = :next, #checkpoint = :checkpoint, #sub = :sub, #switches = :zero REMOVE #pending, #pendingSub, #pendingState, #atTimestamp',
    // The owner handing the lease over (checkpointOwner) writes its last checkpoints too.
    condition: '#counter = :expected AND (#owner = :owner OR #checkpointOwner = :owner)',
    values: {
      ':next': expectedCounter + 1,
      ':expected': expectedCounter,
      ':owner': owner,
      ':checkpoint': attributes[A.checkpoint],
      ':sub': attributes[A.checkpointSubSequence],
      ':zero': 0,
      ...(pinned ? { ':at': pinned.toISOString() } : {}),
    },
    names: {
      '#checkpoint': A.checkpoint,
      '#sub': A.checkpointSubSequence,
      '#switches': A.ownerSwitches,
      '#pending': A.pendingCheckpoint,
      '#pendingSub': A.pendingCheckpointSubSequence,
      '#pendingState': A.pendingCheckpointState,
      '#atTimestamp': A.checkpointTimestamp,
      '#checkpointOwner': A.checkpointOwner,
    },
    returnNew: true,
  };
}

/**
 * Gives a lease up so another worker takes it at once: the owner is removed (the KCL's
 * evictLease), and the counter bumped so no stale writer can slip in behind us.
 */
export function releaseUpdate(owner: string, expectedCounter: number): LeaseUpdate {
  return {
    update: 'REMOVE #owner, #checkpointOwner SET #counter = :next',
    condition: '#counter = :expected AND #owner = :owner',
    values: { ':next': expectedCounter + 1, ':expected': expectedCounter, ':owner': owner },
    names: { '#checkpointOwner': A.checkpointOwner },
  };
}

/**
 * Gives a lease up to a named live worker (KCL 3's lease assignment): it finds the lease
 * in its name through the owner index and takes it (a counter bump) at its next claim
 * pass. Counted as an owner switch, as a take is.
 */
export function assignUpdate(
  owner: string,
  expectedCounter: number,
  nextOwner: string,
): LeaseUpdate {
  return {
    update:
      'SET #owner = :nextOwner, #counter = :next, #switches = if_not_exists(#switches, :zero) + :one REMOVE #checkpointOwner',
    condition: '#counter = :expected AND #owner = :owner',
    values: {
      ':next': expectedCounter + 1,
      ':expected': expectedCounter,
      ':owner': owner,
      ':nextOwner': nextOwner,
      ':zero': 0,
      ':one': 1,
    },
    names: { '#checkpointOwner': A.checkpointOwner, '#switches': A.ownerSwitches },
  };
}

/**
 * Sets a checkpoint regardless of owner (the operator command), bumping the counter so a
 * worker still holding the lease fails its next conditional write and stops. An
 * AT_TIMESTAMP checkpoint keeps its time in `checkpointTimestamp` (ours: the KCL takes
 * the time from its own configuration).
 */
export function forceCheckpointUpdate(
  lease: Lease,
  checkpoint: Checkpoint,
  timestamp?: Date,
): LeaseUpdate {
  const attributes = checkpointAttributes(checkpoint);
  const withTime = checkpoint === 'AT_TIMESTAMP' && timestamp !== undefined;
  return {
    update: `SET #counter = :next, #checkpoint = :checkpoint, #sub = :sub${
      withTime ? ', #atTimestamp = :at' : ''
    } REMOVE #pending, #pendingSub${withTime ? '' : ', #atTimestamp'}`,
    condition: '#counter = :expected',
    values: {
      ':next': lease.leaseCounter + 1,
      ':expected': lease.leaseCounter,
      ':checkpoint': attributes[A.checkpoint],
      ':sub': attributes[A.checkpointSubSequence],
      ...(withTime ? { ':at': timestamp.toISOString() } : {}),
    },
    names: {
      '#checkpoint': A.checkpoint,
      '#sub': A.checkpointSubSequence,
      '#pending': A.pendingCheckpoint,
      '#pendingSub': A.pendingCheckpointSubSequence,
      '#atTimestamp': A.checkpointTimestamp,
    },
  };
}

/**
 * The expression attribute names an update uses: its own, plus `#counter` and `#owner`
 * where an expression mentions them (DynamoDB refuses a placeholder no expression uses).
 */
export function updateNames(request: LeaseUpdate): Record<string, string> {
  const names: Record<string, string> = { ...request.names };
  for (const [placeholder, name] of [
    ['#counter', A.counter],
    ['#owner', A.owner],
  ] as const)
    if (request.update.includes(placeholder) || request.condition.includes(placeholder))
      names[placeholder] = name;
  return names;
}
