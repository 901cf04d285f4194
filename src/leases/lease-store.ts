import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceNotFoundException,
  ConditionalCheckFailedException,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { Checkpoint } from '../core/checkpoint.js';
import { sleep } from '../core/backoff.js';
import { LEASE_ATTRIBUTES as A, type Lease } from './lease.js';
import { checkpointAttributes, itemFromLease, leaseFromItem } from './lease-codec.js';

/** A conditional write lost its race: the lease changed under us. */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}

/**
 * The lease table: every write is conditional, so two workers can never both believe
 * they moved the same lease. Returns the new `leaseCounter` where a write changes it.
 */
export class LeaseStore {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** Creates the table (PAY_PER_REQUEST, hash key leaseKey) if missing; waits until ACTIVE. */
  async ensureTable(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    try {
      await this.dynamo.send(
        new CreateTableCommand({
          TableName: this.tableName,
          AttributeDefinitions: [{ AttributeName: A.key, AttributeType: 'S' }],
          KeySchema: [{ AttributeName: A.key, KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    while (Date.now() < deadline) {
      try {
        const { Table } = await this.dynamo.send(
          new DescribeTableCommand({ TableName: this.tableName }),
        );
        if (Table?.TableStatus === 'ACTIVE') return;
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
      await sleep(250);
    }
    throw new Error(`lease table ${this.tableName} did not become ACTIVE in ${timeoutMs} ms`);
  }

  async listLeases(): Promise<Lease[]> {
    const leases: Lease[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.dynamo.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) leases.push(leaseFromItem(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return leases;
  }

  /** Creates a lease unless one exists; returns false when it already did. */
  async createLeaseIfAbsent(lease: Lease): Promise<boolean> {
    try {
      await this.dynamo.send(
        new PutCommand({
          TableName: this.tableName,
          Item: itemFromLease(lease),
          ConditionExpression: 'attribute_not_exists(#key)',
          ExpressionAttributeNames: { '#key': A.key },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Bumps the counter of a lease we hold; fails if it moved or changed owner. */
  async renew(shardId: string, owner: string, expectedCounter: number): Promise<number> {
    await this.update(shardId, {
      update: 'SET #counter = :next',
      condition: '#counter = :expected AND #owner = :owner',
      values: { ':next': expectedCounter + 1, ':expected': expectedCounter, ':owner': owner },
    });
    return expectedCounter + 1;
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

  /** Writes a checkpoint, conditional on owner and counter, as the KCL does. */
  async checkpoint(
    shardId: string,
    owner: string,
    expectedCounter: number,
    checkpoint: Checkpoint,
  ): Promise<number> {
    const attributes = checkpointAttributes(checkpoint);
    await this.update(shardId, {
      // A KCL prepareCheckpoint leaves pendingCheckpoint*: a real checkpoint clears it, as
      // the KCL's own checkpoint update does.
      update:
        'SET #counter = :next, #checkpoint = :checkpoint, #sub = :sub, #switches = :zero REMOVE #pending, #pendingSub, #pendingState, #atTimestamp',
      condition: '#counter = :expected AND #owner = :owner',
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
      },
    });
    return expectedCounter + 1;
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
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [A.key]: shardId },
        UpdateExpression: 'SET #children = :children',
        ConditionExpression: `attribute_exists(${A.key})`,
        ExpressionAttributeNames: { '#children': A.children },
        ExpressionAttributeValues: { ':children': new Set(children) },
      }),
    );
  }

  async deleteLease(lease: Lease): Promise<void> {
    await this.dynamo.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { [A.key]: lease.leaseKey },
        ConditionExpression: '#counter = :expected',
        ExpressionAttributeNames: { '#counter': A.counter },
        ExpressionAttributeValues: { ':expected': lease.leaseCounter },
      }),
    );
  }

  private async update(
    shardId: string,
    request: {
      update: string;
      condition: string;
      values: Record<string, unknown>;
      names?: Record<string, string>;
    },
  ): Promise<void> {
    const names: Record<string, string> = { '#counter': A.counter, ...request.names };
    if (request.update.includes('#owner') || request.condition.includes('#owner')) {
      names['#owner'] = A.owner;
    }
    await this.dynamo.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [A.key]: shardId },
        UpdateExpression: request.update,
        ConditionExpression: `attribute_exists(${A.key}) AND ${request.condition}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: request.values,
      }),
    );
  }
}
