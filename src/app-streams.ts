import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { RelayConfig, StreamConfig } from './config/schema.js';
import { createKinesisClient, type AwsClients } from './kinesis/clients.js';
import { createFanoutSource, type FanoutSource } from './kinesis/fanout/fanout-source.js';
import { KinesisStreamApi } from './kinesis/stream-api.js';
import { streamCredentials } from './kinesis/stream-credentials.js';
import { chooseStreamIdentifier, parseStreamArn } from './leases/stream-identifier.js';
import type { LeaseStream } from './leases/stream-scopes.js';
import type { Logger } from './observability/logger.js';

/** One configured stream: its Kinesis calls (under its own role, if it has one). */
export interface StreamRuntime {
  readonly config: StreamConfig;
  readonly api: KinesisStreamApi;
  /** Null: GetRecords polling (config consumer.mode). */
  readonly fanout: FanoutSource | null;
  /** A client of its own (a stream read under its own role), closed with the relay. */
  readonly ownClient: KinesisClient | null;
}

/**
 * A stream's Kinesis calls: with a role of its own (`streams[].roleArn`) a client of its
 * own under the assumed role, else the process's client.
 */
export function streamRuntime(
  stream: StreamConfig,
  config: RelayConfig,
  options: { readonly log: Logger; readonly env?: NodeJS.ProcessEnv },
  clients: AwsClients,
): StreamRuntime {
  const credentials = streamCredentials(stream, {
    region: config.aws.region,
    sessionName: config.application,
  });
  const ownClient = credentials
    ? createKinesisClient({
        region: config.aws.region,
        idleTimeoutMs: config.aws.idleTimeoutMs,
        env: options.env,
        credentials,
      })
    : null;
  const log = config.streams ? options.log.child({ stream: stream.name }) : options.log;
  return {
    config: stream,
    api: new KinesisStreamApi(ownClient ?? clients.kinesis, stream.name),
    fanout: createFanoutSource(config, stream.name, log, credentials),
    ownClient,
  };
}

/**
 * The stream as the lease coordinator sees it. With `streams:` the table is a KCL
 * multi-stream table: each stream is identified as `account:stream:creationEpoch`.
 */
export function leaseStream(stream: StreamRuntime, config: RelayConfig): LeaseStream {
  const identify = async (existing: ReadonlySet<string>) => {
    const { streamArn, createdAt } = await stream.api.describeSummary();
    const arn = parseStreamArn(streamArn);
    if (!arn) throw new Error(`${stream.config.name}: unexpected stream ARN ${streamArn}`);
    return chooseStreamIdentifier({ ...arn, createdAt }, existing);
  };
  return {
    name: stream.config.name,
    initialPosition: stream.config.initialPosition,
    listShards: () => stream.api.listShards(),
    ...(config.streams ? { identify } : {}),
  };
}
