import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sleep } from '../core/backoff.js';
import { LEASE_ATTRIBUTES as A } from './lease.js';

/**
 * KCL 3's global secondary index on the lease table: lease keys by owner, so a worker
 * finds the leases assigned to it without scanning the table. Same name and shape as the
 * KCL's (HASH leaseOwner, RANGE leaseKey, KEYS_ONLY), so a KCL 3 application sees its own.
 */
export const OWNER_INDEX = 'LeaseOwnerToLeaseKeyIndex';

/** What the relay learnt about the lease table at start. */
export interface LeaseTableInfo {
  /** The owner index exists and is ACTIVE: the claim pass queries it instead of scanning. */
  readonly ownerIndexActive: boolean;
}

/** One DynamoDB call under the lease store's deadline. */
export type LeaseCall = <Output>(
  operation: string,
  send: (abortSignal: AbortSignal) => Promise<Output>,
) => Promise<Output>;

/** Creating the lease table, and learning whether it has the owner index. */
export class LeaseTableSetup {
  constructor(
    private readonly dynamo: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly call: LeaseCall,
  ) {}

  /**
   * Creates the table (PAY_PER_REQUEST, hash key leaseKey, KCL 3's owner index) if missing
   * and waits until it is ACTIVE. A table that exists is used as it is: whether it has the
   * owner index is reported, not changed.
   */
  async ensure(timeoutMs: number): Promise<LeaseTableInfo> {
    const deadline = Date.now() + timeoutMs;
    let created = false;
    try {
      await this.call('CreateTable', (abortSignal) =>
        this.dynamo.send(
          new CreateTableCommand({
            TableName: this.tableName,
            AttributeDefinitions: [
              { AttributeName: A.key, AttributeType: 'S' },
              { AttributeName: A.owner, AttributeType: 'S' },
            ],
            KeySchema: [{ AttributeName: A.key, KeyType: 'HASH' }],
            GlobalSecondaryIndexes: [
              {
                IndexName: OWNER_INDEX,
                KeySchema: [
                  { AttributeName: A.owner, KeyType: 'HASH' },
                  { AttributeName: A.key, KeyType: 'RANGE' },
                ],
                Projection: { ProjectionType: 'KEYS_ONLY' },
              },
            ],
            BillingMode: 'PAY_PER_REQUEST',
          }),
          { abortSignal },
        ),
      );
      created = true;
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
    while (Date.now() < deadline) {
      const status = await this.describe();
      // A table we created waits for its index too (DynamoDB builds both together).
      if (status?.table === 'ACTIVE' && (!created || status.ownerIndex === 'ACTIVE'))
        return { ownerIndexActive: status.ownerIndex === 'ACTIVE' };
      await sleep(250);
    }
    throw new Error(`lease table ${this.tableName} did not become ACTIVE in ${timeoutMs} ms`);
  }

  /** Whether the owner index is there and ACTIVE now (an operator may add it later). */
  async ownerIndexActive(): Promise<boolean> {
    return (await this.describe())?.ownerIndex === 'ACTIVE';
  }

  private async describe(): Promise<{ table?: string; ownerIndex?: string } | undefined> {
    try {
      const { Table } = await this.call('DescribeTable', (abortSignal) =>
        this.dynamo.send(new DescribeTableCommand({ TableName: this.tableName }), {
          abortSignal,
        }),
      );
      const index = Table?.GlobalSecondaryIndexes?.find((gsi) => gsi.IndexName === OWNER_INDEX);
      return { table: Table?.TableStatus, ownerIndex: index?.IndexStatus };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }
}
