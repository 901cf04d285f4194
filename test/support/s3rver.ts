import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { startS3rver, type RunningEmulator } from '../../src/demo/emulators.js';
import { createAwsClients, destroyAwsClients, type AwsClients } from '../../src/kinesis/clients.js';

export interface S3rverStack {
  /** The relay's AWS clients, their S3 one pointed at this file's s3rver. */
  readonly clients: AwsClients;
  readonly endpoint: string;
  createBucket(name: string): Promise<void>;
}

/**
 * s3rver for the S3 sinks of one test file, started before its tests and stopped after.
 * The SDK finds the endpoint and credentials in the environment, as the relay does
 * (`AWS_ENDPOINT_URL_S3`), so sinks built from config reach it without test wiring.
 */
export function useS3rver(): S3rverStack {
  let s3rver: RunningEmulator | undefined;
  let clients: AwsClients | undefined;
  beforeAll(async () => {
    s3rver = await startS3rver();
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: s3rver.endpoint,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    });
    clients = createAwsClients({ region: 'us-east-1' });
  });
  afterAll(async () => {
    if (clients) destroyAwsClients(clients);
    await s3rver?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('s3rver is not started yet (use it inside a test)');
    return value;
  };
  return {
    get clients() {
      return started(clients);
    },
    get endpoint() {
      return started(s3rver).endpoint;
    },
    async createBucket(name: string) {
      await started(clients).s3.send(new CreateBucketCommand({ Bucket: name }));
    },
  };
}
