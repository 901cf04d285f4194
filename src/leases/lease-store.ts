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
import type { Checkpoint, CheckpointWrite } from '../core/checkpoint.js';
import { LEASE_ATTRIBUTES as A, type Lease } from './lease.js';
import { LeaseCallTimeoutError, callWithDeadline } from './lease-call.js';
import { isLeaseItem, itemFromLease, leaseFromItem } from './lease-codec.js';
import { LeaseTableSetup, OWNER_INDEX, type LeaseTableInfo } from './lease-table-setup.js';
import {
  assignUpdate,
  checkpointUpdate,
  completeHandoffUpdate,
  forceCheckpointUpdate,
  releaseUpdate,
  renewUpdate,
  requestHandoffUpdate,
  withdrawHandoffUpdate,
  takeUpdate,
  updateNames,
  renewal,
  type LeaseRenewal,
  type LeaseUpdate,
} from './lease-updates.js';

export { OWNER_INDEX, type LeaseTableInfo } from './lease-table-setup.js';
export { LeaseCallTimeoutError } from './lease-call.js';
export type { LeaseRenewal } from './lease-updates.js';

const DEFAULT_CALL_TIMEOUT_MS = 10_000;

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

  /** Bumps the counter of a lease we hold (lease-updates.ts: renewUpdate). */
  async renew(shardId: string, owner: string, expectedCounter: number): Promise<LeaseRenewal> {
    const item = await this.update(shardId, renewUpdate(owner, expectedCounter));
    return renewal(item, owner, expectedCounter + 1);
  }

  /** Asks the owner of a lease to hand it over (lease-updates.ts: requestHandoffUpdate). */
  async requestHandoff(lease: Lease, nextOwner: string): Promise<void> {
    await this.update(lease.leaseKey, requestHandoffUpdate(lease.leaseOwner, nextOwner));
  }

  /** The owner handing a lease over is done (lease-updates.ts: completeHandoffUpdate). */
  async completeHandoff(shardId: string, owner: string, expectedCounter: number): Promise<void> {
    await this.update(shardId, completeHandoffUpdate(owner, expectedCounter));
  }

  /** Withdraws a handoff we asked for (lease-updates.ts: withdrawHandoffUpdate). */
  async withdrawHandoff(shardId: string, asker: string, currentOwner: string): Promise<void> {
    await this.update(shardId, withdrawHandoffUpdate(asker, currentOwner));
  }

  /** Takes a lease whose counter we last saw at `lease.leaseCounter`; returns the new one. */
  async take(lease: Lease, newOwner: string): Promise<number> {
    await this.update(lease.leaseKey, takeUpdate(lease, newOwner));
    return lease.leaseCounter + 1;
  }

  /** Writes a checkpoint as owner; renews too (lease-updates.ts: checkpointUpdate). */
  async checkpoint(
    shardId: string,
    owner: string,
    expectedCounter: number,
    checkpoint: CheckpointWrite,
  ): Promise<LeaseRenewal> {
    const item = await this.update(shardId, checkpointUpdate(owner, expectedCounter, checkpoint));
    return renewal(item, owner, expectedCounter + 1);
  }

  /** Gives a lease up to nobody (lease-updates.ts: releaseUpdate). */
  async release(shardId: string, owner: string, expectedCounter: number): Promise<void> {
    await this.update(shardId, releaseUpdate(owner, expectedCounter));
  }

  /** Gives a lease up to a named live worker (lease-updates.ts: assignUpdate). */
  async assign(
    shardId: string,
    owner: string,
    expectedCounter: number,
    nextOwner: string,
  ): Promise<void> {
    await this.update(shardId, assignUpdate(owner, expectedCounter, nextOwner));
  }

  /** Sets a checkpoint regardless of owner (lease-updates.ts: forceCheckpointUpdate). */
  async forceCheckpoint(lease: Lease, checkpoint: Checkpoint, timestamp?: Date): Promise<void> {
    await this.update(lease.leaseKey, forceCheckpointUpdate(lease, checkpoint, timestamp));
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
    request: LeaseUpdate,
  ): Promise<Record<string, unknown> | undefined> {
    const output = await this.call('Update', (abortSignal) =>
      this.dynamo.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [A.key]: shardId },
          UpdateExpression: request.update,
          ConditionExpression: `attribute_exists(${A.key}) AND ${request.condition}`,
          ExpressionAttributeNames: updateNames(request),
          ExpressionAttributeValues: request.values,
          ...(request.returnNew ? { ReturnValues: 'ALL_NEW' as const } : {}),
        }),
        { abortSignal },
      ),
    );
    return output.Attributes;
  }

  /** One SDK call within the store's deadline (lease-call.ts). */
  private call<Output>(
    operation: string,
    send: (abortSignal: AbortSignal) => Promise<Output>,
    deadline: AbortSignal = AbortSignal.timeout(this.callTimeoutMs),
  ): Promise<Output> {
    return callWithDeadline(
      send,
      deadline,
      () =>
        new LeaseCallTimeoutError(
          `DynamoDB ${operation} on ${this.tableName} did not finish within ${this.callTimeoutMs} ms`,
        ),
    );
  }
}
