import { afterAll, beforeAll } from 'vitest';
import { startTestStack, type TestStack } from '../../support/stack.js';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.js';

/** The emulators, each behind its own fault proxy. */
export interface ChaosStack extends TestStack {
  readonly kinesisProxy: FaultProxy;
  readonly dynamoProxy: FaultProxy;
  readonly s3Proxy: FaultProxy;
  /**
   * The environment for a relay process: the standard AWS_ENDPOINT_URL_* variables point
   * at the proxies. This test process keeps talking to the emulators directly, so its
   * producer and its checks never meet a fault.
   */
  relayEnv(): NodeJS.ProcessEnv;
  /** Removes every injected fault (hung calls are reset). */
  clearFaults(): void;
}

export async function startChaosStack(seed = 1): Promise<ChaosStack> {
  const base = await startTestStack();
  const proxies: FaultProxy[] = [];
  try {
    const proxy = async (target: string, offset: number) => {
      const started = await startFaultProxy({ target, seed: seed + offset });
      proxies.push(started);
      return started;
    };
    const kinesisProxy = await proxy(base.stack.kinesis.endpoint, 0);
    const dynamoProxy = await proxy(base.stack.dynamo.endpoint, 1);
    const s3Proxy = await proxy(base.stack.s3.endpoint, 2);
    return {
      ...base,
      stack: base.stack,
      clients: base.clients,
      kinesisProxy,
      dynamoProxy,
      s3Proxy,
      relayEnv: () => ({
        ...process.env,
        AWS_ENDPOINT_URL_KINESIS: kinesisProxy.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: dynamoProxy.endpoint,
        AWS_ENDPOINT_URL_S3: s3Proxy.endpoint,
      }),
      clearFaults: () => proxies.forEach((p) => p.clear()),
      stop: async () => {
        await Promise.allSettled(proxies.map((p) => p.close()));
        await base.stop();
      },
    };
  } catch (error) {
    await Promise.allSettled(proxies.map((p) => p.close()));
    await base.stop();
    throw error;
  }
}

/** Starts the chaos stack for the enclosing `describe` and stops it after. */
export function useChaosStack(seed = 1): ChaosStack {
  let started: ChaosStack | undefined;
  beforeAll(async () => {
    started = await startChaosStack(seed);
  });
  afterAll(async () => {
    await started?.stop();
  });
  const current = (): ChaosStack => {
    if (!started) throw new Error('the chaos stack is not started yet');
    return started;
  };
  return new Proxy({} as ChaosStack, {
    get: (_, key) => {
      const stack = current() as unknown as Record<string | symbol, unknown>;
      return stack[key];
    },
  });
}
