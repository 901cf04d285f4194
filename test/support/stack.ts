import { afterAll, beforeAll } from 'vitest';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { startLocalStack, type LocalStack } from '../../src/demo/emulators.js';
import { createAwsClients, destroyAwsClients, type AwsClients } from '../../src/kinesis/clients.js';
import { isSentinel } from '../../src/core/checkpoint.js';
import { comparePositions, type RecordPosition } from '../../src/core/record.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import type { PutResult } from '../../src/demo/producer.js';
import { lastPositionPerShard } from './records.js';

export interface TestStack {
  readonly stack: LocalStack;
  readonly clients: AwsClients;
  stop(): Promise<void>;
}

/**
 * Starts the emulators on free loopback ports and points this process's SDK at them
 * through the standard AWS_ENDPOINT_URL_* variables (as a user would).
 */
export async function startTestStack(): Promise<TestStack> {
  const stack = await startLocalStack();
  Object.assign(process.env, stack.env);
  const clients = createAwsClients({ region: 'us-east-1' });
  return {
    stack,
    clients,
    stop: async () => {
      destroyAwsClients(clients);
      await stack.stop();
    },
  };
}

/**
 * Starts the emulators once for the enclosing `describe` block and stops them after it.
 * The returned stack is usable inside tests and hooks (not at collection time).
 */
export function useTestStack(): TestStack {
  let started: TestStack | undefined;
  beforeAll(async () => {
    started = await startTestStack();
  });
  afterAll(async () => {
    await started?.stop();
  });
  const current = (): TestStack => {
    if (!started) throw new Error('the test stack is not started yet');
    return started;
  };
  return {
    get stack() {
      return current().stack;
    },
    get clients() {
      return current().clients;
    },
    stop: () => current().stop(),
  };
}

/** A random name per test, so tests never share a stream, table or bucket. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function createBucket(clients: AwsClients, bucket: string): Promise<void> {
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** Polls until `check` returns a value other than undefined, or fails after the timeout. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Waits until every shard's checkpoint in the lease table is at (or past) the expected one. */
export async function waitForCheckpoints(
  clients: AwsClients,
  table: string,
  expected: ReadonlyMap<string, RecordPosition>,
  timeoutMs = 120_000,
): Promise<void> {
  const store = new LeaseStore(clients.dynamo, table);
  await eventually(
    `checkpoints of ${table} to reach the last records`,
    async () => {
      const leases = await store.listLeases();
      const reached = [...expected].every(([shardId, position]) => {
        const checkpoint = leases.find((lease) => lease.leaseKey === shardId)?.checkpoint;
        return (
          checkpoint !== undefined &&
          !isSentinel(checkpoint) &&
          comparePositions(checkpoint, position) >= 0
        );
      });
      return reached ? true : undefined;
    },
    timeoutMs,
    250,
  );
}

/** Waits until every shard's checkpoint reaches the last of these plain (not aggregated) puts. */
export function waitForPutsCheckpointed(
  clients: AwsClients,
  table: string,
  put: readonly PutResult[],
  timeoutMs?: number,
): Promise<void> {
  return waitForCheckpoints(
    clients,
    table,
    lastPositionPerShard(
      put,
      put.map(() => 1),
    ),
    timeoutMs,
  );
}
