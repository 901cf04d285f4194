import { afterAll, beforeAll } from 'vitest';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import {
  startDynalite,
  startKinesisLocal,
  startS3rver,
  type LocalStack,
} from '../../src/demo/emulators.js';
import { createAwsClients, destroyAwsClients, type AwsClients } from '../../src/kinesis/clients.js';
import { isSentinel } from '../../src/core/checkpoint.js';
import { comparePositions, type RecordPosition } from '../../src/core/record.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import type { PutResult } from '../../src/demo/producer.js';
import { lastPositionPerShard } from './records.js';
import { stopRelayProcesses } from './relay-process.js';

export interface TestStack {
  readonly stack: LocalStack;
  readonly clients: AwsClients;
  stop(): Promise<void>;
}

/**
 * Emulator sets started by this test file and not stopped yet. kinesis-local and s3rver
 * are child processes that inherit the test worker's stderr, which is a pipe to the main
 * vitest process: one left running (a describe's afterAll that timed out before its
 * stop(), say) holds that pipe open after the worker exits, and the run ends with "close
 * timed out after 10000ms … something prevents Vite server from exiting". Whatever is
 * still running when the file ends is stopped here.
 */
const liveStacks = new Set<LocalStack>();

afterAll(async () => {
  await stopRelayProcesses();
  await Promise.allSettled([...liveStacks].map((stack) => stack.stop()));
  liveStacks.clear();
});

/**
 * Starts the emulators on free loopback ports and points this process's SDK at them
 * through the standard AWS_ENDPOINT_URL_* variables (as a user would).
 */
export async function startTestStack(): Promise<TestStack> {
  const stack = await startEmulators();
  liveStacks.add(stack);
  Object.assign(process.env, stack.env);
  const clients = createAwsClients({ region: 'us-east-1' });
  return {
    stack,
    clients,
    stop: async () => {
      // A relay a failed test left running keeps its keep-alive connections to dynalite
      // busy, and dynalite's close() waits for them: the hook would hang, then the run.
      await stopRelayProcesses();
      destroyAwsClients(clients);
      await stack.stop();
      liveStacks.delete(stack);
    },
  };
}

/**
 * The three emulators, as src/demo's startLocalStack starts them, but never leaving one
 * running when another fails to start (a port taken between freePort and the emulator's
 * bind, on a busy machine, or kinesis-local slow to listen): what did start is stopped,
 * and the start is tried again once. A leftover emulator kept the test worker alive and
 * ended the run with "close timed out after 10000ms".
 */
async function startEmulators(attempts = 2): Promise<LocalStack> {
  for (let attempt = 1; ; attempt += 1) {
    const [kinesis, dynamo, s3] = await Promise.allSettled([
      startKinesisLocal(),
      startDynalite(),
      startS3rver(),
    ]);
    if (
      kinesis.status === 'fulfilled' &&
      dynamo.status === 'fulfilled' &&
      s3.status === 'fulfilled'
    ) {
      const [k, d, s] = [kinesis.value, dynamo.value, s3.value];
      return {
        kinesis: k,
        dynamo: d,
        s3: s,
        env: {
          AWS_REGION: 'us-east-1',
          // s3rver accepts only these credentials; the other emulators accept any.
          AWS_ACCESS_KEY_ID: 'S3RVER',
          AWS_SECRET_ACCESS_KEY: 'S3RVER',
          AWS_ENDPOINT_URL_KINESIS: k.endpoint,
          AWS_ENDPOINT_URL_DYNAMODB: d.endpoint,
          AWS_ENDPOINT_URL_S3: s.endpoint,
        },
        stop: async () => {
          await Promise.allSettled([k.stop(), d.stop(), s.stop()]);
        },
      };
    }
    await Promise.allSettled(
      [kinesis, dynamo, s3].map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)),
    );
    const failure = [kinesis, dynamo, s3].find((r) => r.status === 'rejected');
    if (attempt >= attempts) throw failure?.reason ?? new Error('the emulators did not start');
  }
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

/** Thrown by an `eventually` check that can see the wait is hopeless: it ends the wait at once. */
export class GiveUp extends Error {}

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
      if (error instanceof GiveUp) throw new Error(`gave up waiting for ${what}: ${error.message}`);
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
