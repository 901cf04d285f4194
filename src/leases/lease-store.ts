import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Checkpoint } from '../core/checkpoint.js';
import { LEASE_ATTRIBUTES as A, type Lease } from './lease.js';
import { checkpointAttributes, isLeaseItem, itemFromLease, leaseFromItem } from './lease-codec.js';
import { LeaseTableSetup, OWNER_INDEX, type LeaseTableInfo } from './lease-table-setup.js';

export { OWNER_INDEX, type LeaseTableInfo } from './lease-table-setup.js';

const DEFAULT_CALL_TIMEOUT_MS = 10_000;

/** What a renewal learnt: the new counter, and the next owner if a handoff was asked. */
export interface LeaseRenewal {
  readonly counter: number;
  readonly handoffTo: string | null;
}

/** A lease call did not finish within its deadline (it may still have been applied). */
export class LeaseCallTimeoutError extends Error {
  override readonly name = 'LeaseCallTimeoutError';
}

/** The handoff state of a lease as a write by `owner` left it. */
function renewal(
  item: Record<string, unknown> | undefined,
  owner: string,
  counter: number,
): LeaseRenewal {
  const next = item?.[A.owner];
  const handing = item?.[A.checkpointOwner] === owner && typeof next === 'string' && next !== owner;
  return { counter, handoffTo: handing ? next : null };
}

/** A conditional write lost its race: the lease changed under us. */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}

/**
 * The lease table: every write is conditional, so two workers can never both believe
 * they moved the same lease. Returns the new `leaseCounter` where a write changes it.
 */
export class LeaseStore {
  /**
   * Each call's deadline, SDK retries included. The relay passes a third of the failover
   * time (the renew interval), so a hung connection costs one renewal, never the lease.
   */
  readonly callTimeoutMs: number;
  private readonly setup: LeaseTableSetup;

  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    readonly tableName: string,
    options: { callTimeoutMs?: number } = {},
  ) {
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.setup = new LeaseTableSetup(dynamo, tableName, (operation, send) =>
      this.call(operation, send),
    );
  }

  /**
   * Creates the table (PAY_PER_REQUEST, hash key leaseKey, KCL 3's owner index) if missing
   * and waits until it is ACTIVE; a table that exists is used as it is.
   */
  ensureTable(timeoutMs = 60_000): Promise<LeaseTableInfo> {
    return this.setup.ensure(timeoutMs);
  }

  /** Whether the owner index is there and ACTIVE now (an operator may add it later). */
  ownerIndexActive(): Promise<boolean> {
    return this.setup.ownerIndexActive();
  }

  /**
   * The keys of the leases in `owner`'s name, from the owner index: eventually consistent
   * (the only read a global secondary index offers), keys only, every page.
   */
  async listLeaseKeysOwnedBy(owner: string): Promise<string[]> {
    const keys: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    const deadline = AbortSignal.timeout(this.callTimeoutMs);
    do {
      const page = await this.call(
        'Query',
        (abortSignal) =>
          this.dynamo.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: OWNER_INDEX,
              KeyConditionExpression: '#owner = :owner',
              ExpressionAttributeNames: { '#owner': A.owner },
              ExpressionAttributeValues: { ':owner': owner },
              ExclusiveStartKey: startKey,
            }),
            { abortSignal },
          ),
        deadline,
      );
      for (const item of page.Items ?? []) keys.push(String(item[A.key]));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return keys;
  }

  /** One lease, read consistently; null when there is none (or the row is not a lease). */
  async getLease(leaseKey: string): Promise<Lease | null> {
    const { Item } = await this.call('Get', (abortSignal) =>
      this.dynamo.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [A.key]: leaseKey },
          ConsistentRead: true,
        }),
        { abortSignal },
      ),
    );
    return Item && isLeaseItem(Item) ? leaseFromItem(Item) : null;
  }

  async listLeases(): Promise<Lease[]> {
    const leases: Lease[] = [];
    let startKey: Record<string, unknown> | undefined;
    // One deadline for the whole scan, however many pages.
    const deadline = AbortSignal.timeout(this.callTimeoutMs);
    do {
      const page = await this.call(
        'Scan',
        (abortSignal) =>
          this.dynamo.send(
            new ScanCommand({
              TableName: this.tableName,
              ConsistentRead: true,
              ExclusiveStartKey: startKey,
            }),
            { abortSignal },
          ),
        deadline,
      );
      for (const item of page.Items ?? []) if (isLeaseItem(item)) leases.push(leaseFromItem(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return leases;
  }

  /** Creates a lease unless one exists; returns false when it already did. */
  async createLeaseIfAbsent(lease: Lease): Promise<boolean> {
    try {
      await this.call('Put', (abortSignal) =>
        this.dynamo.send(
          new PutCommand({
            TableName: this.tableName,
            Item: itemFromLease(lease),
            ConditionExpression: 'attribute_not_exists(#key)',
            ExpressionAttributeNames: { '#key': A.key },
          }),
          { abortSignal },
        ),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Bumps the counter of a lease we hold; fails if it moved or changed owner. During a
   * graceful handoff (KCL 3) the owner handing over is `checkpointOwner` and renews as
   * such; `handoffTo` then names the next owner, waiting for us to finish.
   */
  async renew(shardId: string, owner: string, expectedCounter: number): Promise<LeaseRenewal> {
    const item = await this.update(shardId, {
      update: 'SET #counter = :next',
      condition: '#counter = :expected AND (#owner = :owner OR #checkpointOwner = :owner)',
      values: { ':next': expectedCounter + 1, ':expected': expectedCounter, ':owner': owner },
      names: { '#checkpointOwner': A.checkpointOwner },
      returnNew: true,
    });
    return renewal(item, owner, expectedCounter + 1);
  }

  /**
   * Asks the owner of a lease to hand it over (a balancing steal, as KCL 3 does it):
   * `leaseOwner` becomes the next owner and `checkpointOwner` the current one, counter
   * unchanged so the owner's renewals go on. The owner notices at its next renewal,
   * stops reading, checkpoints and completes the handoff; the next owner starts there.
   * Conditional on the owner and on no handoff in progress.
   */
  async requestHandoff(lease: Lease, nextOwner: string): Promise<void> {
    await this.update(lease.leaseKey, {
      update: 'SET #owner = :next, #checkpointOwner = :current',
      // Not on the counter (KCL 3 neither): the owner renews every renew interval, and a
      // scan of a large table is often older than that by the time the request is sent.
      condition: '#owner = :current AND attribute_not_exists(#checkpointOwner)',
      values: { ':next': nextOwner, ':current': lease.leaseOwner },
      names: { '#checkpointOwner': A.checkpointOwner },
    });
  }

  /**
   * The owner handing a lease over is done (its last checkpoint is written): removing
   * `checkpointOwner` and bumping the counter lets the next owner start.
   */
  async completeHandoff(shardId: string, owner: string, expectedCounter: number): Promise<void> {
    await this.update(shardId, {
      update: 'REMOVE #checkpointOwner SET #counter = :next',
      condition: '#counter = :expected AND #checkpointOwner = :owner',
      values: { ':next': expectedCounter + 1, ':expected': expectedCounter, ':owner': owner },
      names: { '#checkpointOwner': A.checkpointOwner },
    });
  }

  /** Takes a lease whose counter we last saw at `expectedCounter` (expired, unowned or stolen). */
  async take(lease: Lease, newOwner: string): Promise<number> {
    const switched = lease.leaseOwner !== newOwner ? 1 : 0;
    await this.update(lease.leaseKey, {
      // checkpointOwner is KCL 3's handoff marker: a fresh assignment clears it, as in the KCL.
      update:
        'SET #owner = :owner, #counter = :next, #switches = if_not_exists(#switches, :zero) + :switched REMOVE #checkpointOwner',
      condition: '#counter = :expected',
      values: {
        ':owner': newOwner,
        ':next': lease.leaseCounter + 1,
        ':expected': lease.leaseCounter,
        ':switched': switched,
        ':zero': 0,
      },
      names: { '#switches': A.ownerSwitches, '#checkpointOwner': A.checkpointOwner },
    });
    return lease.leaseCounter + 1;
  }

  /**
   * Writes a checkpoint, conditional on owner and counter, as the KCL does. It renews the
   * lease too, and reports a handoff request as a renewal does.
   */
  async checkpoint(
    shardId: string,
    owner: string,
    expectedCounter: number,
    checkpoint: Checkpoint,
  ): Promise<LeaseRenewal> {
    const attributes = checkpointAttributes(checkpoint);
    const item = await this.update(shardId, {
      // A KCL prepareCheckpoint leaves pendingCheckpoint*: a real checkpoint clears it, as
      // the KCL's own checkpoint update does.
      update:
        'SET #counter = :next, #checkpoint = :checkpoint, #sub = :sub, #switches = :zero REMOVE #pending, #pendingSub, #pendingState, #atTimestamp',
      // The owner handing the lease over (checkpointOwner) writes its last checkpoints too.
      condition: '#counter = :expected AND (#owner = :owner OR #checkpointOwner = :owner)',
      values: {
        ':next': expectedCounter + 1,
        ':expected': expectedCounter,
        ':owner': owner,
        ':checkpoint': attributes[A.checkpoint],
        ':sub': attributes[A.checkpointSubSequence],
        ':zero': 0,
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
    });
    return renewal(item, owner, expectedCounter + 1);
  }

  /**
   * Gives a lease up so another worker takes it at once: the owner is removed (the KCL's
   * evictLease), and the counter bumped so no stale writer can slip in behind us.
   */
  async release(shardId: string, owner: string, expectedCounter: number): Promise<void> {
    await this.update(shardId, {
      update: 'REMOVE #owner, #checkpointOwner SET #counter = :next',
      condition: '#counter = :expected AND #owner = :owner',
      values: { ':next': expectedCounter + 1, ':expected': expectedCounter, ':owner': owner },
      names: { '#checkpointOwner': A.checkpointOwner },
    });
  }

  /**
   * Gives a lease up to a named live worker (KCL 3's lease assignment): it finds the lease
   * in its name through the owner index and takes it (a counter bump) at its next claim
   * pass. Counted as an owner switch, as a take is.
   */
  async assign(
    shardId: string,
    owner: string,
    expectedCounter: number,
    nextOwner: string,
  ): Promise<void> {
    await this.update(shardId, {
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
    });
  }

  /**
   * Sets a checkpoint regardless of owner (the operator command), bumping the counter so a
   * worker still holding the lease fails its next conditional write and stops. An
   * AT_TIMESTAMP checkpoint keeps its time in `checkpointTimestamp` (ours: the KCL takes
   * the time from its own configuration).
   */
  async forceCheckpoint(lease: Lease, checkpoint: Checkpoint, timestamp?: Date): Promise<void> {
    const attributes = checkpointAttributes(checkpoint);
    const withTime = checkpoint === 'AT_TIMESTAMP' && timestamp !== undefined;
    await this.update(lease.leaseKey, {
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
    });
  }

  /** Records a finished shard's children, as the KCL does when a shard ends. */
  async setChildShardIds(shardId: string, children: readonly string[]): Promise<void> {
    if (children.length === 0) return;
    await this.call('Update', (abortSignal) =>
      this.dynamo.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.key]: shardId },
          UpdateExpression: 'SET #children = :children',
          ConditionExpression: `attribute_exists(${A.key})`,
          ExpressionAttributeNames: { '#children': A.children },
          ExpressionAttributeValues: { ':children': new Set(children) },
        }),
        { abortSignal },
      ),
    );
  }

  async deleteLease(lease: Lease): Promise<void> {
    await this.call('Delete', (abortSignal) =>
      this.dynamo.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [A.key]: lease.leaseKey },
          ConditionExpression: '#counter = :expected',
          ExpressionAttributeNames: { '#counter': A.counter },
          ExpressionAttributeValues: { ':expected': lease.leaseCounter },
        }),
        { abortSignal },
      ),
    );
  }

  private async update(
    shardId: string,
    request: {
      update: string;
      condition: string;
      values: Record<string, unknown>;
      names?: Record<string, string>;
      /** Return the item as written. */
      returnNew?: boolean;
    },
  ): Promise<Record<string, unknown> | undefined> {
    const names: Record<string, string> = { ...request.names };
    // DynamoDB refuses a name placeholder that no expression uses.
    for (const [placeholder, name] of [
      ['#counter', A.counter],
      ['#owner', A.owner],
    ] as const)
      if (request.update.includes(placeholder) || request.condition.includes(placeholder))
        names[placeholder] = name;
    const output = await this.call('Update', (abortSignal) =>
      this.dynamo.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.key]: shardId },
          UpdateExpression: request.update,
          ConditionExpression: `attribute_exists(${A.key}) AND ${request.condition}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: request.values,
          ...(request.returnNew ? { ReturnValues: 'ALL_NEW' as const } : {}),
        }),
        { abortSignal },
      ),
    );
    return output.Attributes;
  }

  /**
   * Runs one SDK call with a deadline: the SDK aborts the attempt in flight and makes no
   * further retry, and the race settles the call at the deadline even if the SDK is
   * sleeping between attempts.
   */
  private call<Output>(
    operation: string,
    send: (abortSignal: AbortSignal) => Promise<Output>,
    deadline: AbortSignal = AbortSignal.timeout(this.callTimeoutMs),
  ): Promise<Output> {
    const timeout = () =>
      new LeaseCallTimeoutError(
        `DynamoDB ${operation} on ${this.tableName} did not finish within ${this.callTimeoutMs} ms`,
      );
    if (deadline.aborted) return Promise.reject(timeout());
    let onAbort: () => void = () => undefined;
    const timedOut = new Promise<never>((_, reject) => {
      onAbort = () => reject(timeout());
      deadline.addEventListener('abort', onAbort, { once: true });
    });
    return Promise.race([send(deadline), timedOut]).finally(() =>
      deadline.removeEventListener('abort', onAbort),
    );
  }
}
