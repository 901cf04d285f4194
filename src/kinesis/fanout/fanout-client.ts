import { KinesisClient, type KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler, NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:https';
import { Agent as HttpAgent } from 'node:http';

export type FanoutProtocol = 'http2' | 'http1.1';

/**
 * The Kinesis client for SubscribeToShard, separate from the polling client (HTTP/1.1
 * keep-alive, see clients.ts). On AWS the event stream is HTTP/2; kinesis-local
 * (kinesis-mock) serves it over HTTP/1.1 only, hence `protocol` (config
 * `consumer.fanout.protocol`). Neither handler has a request deadline: a subscription
 * lasts 5 minutes by design. A silent connection is caught by the socket/session idle
 * timeout (AWS sends an event at least every 5 s), then re-subscribed.
 */
export function createFanoutKinesisClient(options: {
  readonly region?: string;
  readonly protocol: FanoutProtocol;
  /** A stream's own role (config `streams[].roleArn`); absent: the SDK's default chain. */
  readonly credentials?: KinesisClientConfig['credentials'];
  /** Absent: the SDK's own (AWS_ENDPOINT_URL_KINESIS, or the region's); a test passes its own. */
  readonly endpoint?: string;
  /** How long a connection may stay silent (default 60 s); a test passes a shorter one. */
  readonly idleMs?: number;
}): KinesisClient {
  const idleMs = options.idleMs ?? 60_000;
  const requestHandler =
    options.protocol === 'http2'
      ? // One session per subscription (the SDK does so for event streams anyway).
        new NodeHttp2Handler({ disableConcurrentStreams: true, sessionTimeout: idleMs })
      : new NodeHttpHandler({
          httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 1024 }),
          httpsAgent: new Agent({ keepAlive: true, maxSockets: 1024 }),
          connectionTimeout: 5_000,
          requestTimeout: idleMs,
          // The idle timeout itself: requestTimeout alone only logs a warning (unless told
          // to throw) and ends once the response starts, so a connection that went silent
          // held its shard's loop for good.
          socketTimeout: idleMs,
        });
  const client = new KinesisClient({
    region: options.region,
    retryMode: 'standard',
    maxAttempts: 4,
    requestHandler,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  // As for the polling client: no SDK logger, no copy of every response for it.
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}
