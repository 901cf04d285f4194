import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KinesisClient, type KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';
import { KinesisJsonProtocol } from './kinesis-protocol.js';

export interface AwsClients {
  readonly kinesis: KinesisClient;
  readonly dynamo: DynamoDBDocumentClient;
  readonly s3: S3Client;
}

export interface AwsClientOptions {
  /** From config `aws.region`; otherwise the SDK's own chain (AWS_REGION, profile ...). */
  readonly region?: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * A request whose connection moves no byte for this long is abandoned and retried
   * (default 30 s). The SDK's own `requestTimeout` only logs a warning unless told to
   * throw, so without this a server that accepts and never answers holds a call forever.
   */
  readonly idleTimeoutMs?: number;
}

/**
 * Builds the SDK clients. Credentials, region and endpoints come from the SDK's own
 * provider chains: the SDK reads AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> itself,
 * so a LocalStack or emulator setup needs nothing of ours.
 */
export function createAwsClients(options: AwsClientOptions = {}): AwsClients {
  const env = options.env ?? process.env;
  const region = options.region;
  const requestHandler = httpHandler(options);
  const common = { region, retryMode: 'standard' as const, maxAttempts: 4 };
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const kinesis = createKinesisClient(options);
  return {
    kinesis,
    dynamo: DynamoDBDocumentClient.from(
      // DynamoDB answers lease calls in milliseconds: an attempt that has not answered in
      // 5 s is hung. The lease store also gives each call a total deadline (retries
      // included) of one renew interval, which is what bounds lease timing.
      new DynamoDBClient({
        ...common,
        requestHandler: requestHandler({ connectionTimeout: 2_000, requestTimeout: 5_000 }),
      }),
      { marshallOptions: { removeUndefinedValues: true } },
    ),
    s3: new S3Client({
      ...common,
      // No total limit here: a multipart part may take long on a slow link; a stalled one
      // moves no byte and ends at the idle timeout. The S3 sink bounds each of its calls
      // by its body's size (sinks/s3/s3-call-deadline.ts), which also ends a trickle.
      requestHandler: requestHandler({ connectionTimeout: 5_000, requestTimeout: 0 }),
      // Emulators and LocalStack serve buckets by path, not by virtual host.
      forcePathStyle: Boolean(s3Endpoint),
      // Checksums only where S3 requires them: an aws-chunked streamed body is stored
      // verbatim (framing included) by S3-compatible servers that do not speak it.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  };
}

/**
 * The polling Kinesis client. `credentials` (a stream's own role, config
 * `streams[].roleArn`) replace the SDK's default chain for this client only.
 */
export function createKinesisClient(
  options: AwsClientOptions & { readonly credentials?: KinesisClientConfig['credentials'] } = {},
): KinesisClient {
  // GetRecords responses are read by our own reader (kinesis-protocol.ts): the SDK's
  // generic one was the largest single cost of the relay's main thread.
  const kinesis = new KinesisClient({
    region: options.region,
    retryMode: 'standard',
    maxAttempts: 4,
    requestHandler: httpHandler(options)({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
    protocol: KinesisJsonProtocol,
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  // The SDK's logger middleware copies every response through its redaction filter for a
  // logger we never give it (we log with pino): for GetRecords that is a walk over every
  // record, 2.3 % of the relay's CPU in the benchmark profile.
  kinesis.middlewareStack.remove('loggerMiddleware');
  return kinesis;
}

function httpHandler(options: AwsClientOptions) {
  // HTTP/1.1 keep-alive: the Kinesis client defaults to HTTP/2 (built for SubscribeToShard),
  // which a GetRecords poller does not need and which breaks against kinesis-local.
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  return (timeouts: { connectionTimeout: number; requestTimeout: number }) =>
    new NodeHttpHandler({
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 256 }),
      httpsAgent: new Agent({ keepAlive: true, maxSockets: 256 }),
      ...timeouts,
      // Both limits end the attempt with a TimeoutError, which the SDK's retry strategy
      // retries: a hung server costs one timeout per attempt, never a stuck call.
      throwOnRequestTimeout: true,
      socketTimeout: idleTimeoutMs,
    });
}

export function destroyAwsClients(clients: AwsClients): void {
  clients.kinesis.destroy();
  clients.dynamo.destroy();
  clients.s3.destroy();
}
