import { configuredStreams, type RelayConfig } from '../config/schema.js';
import type { AwsClients } from '../kinesis/clients.js';
import { createKinesisClient } from '../kinesis/clients.js';
import { KinesisStreamApi } from '../kinesis/stream-api.js';
import { streamCredentials } from '../kinesis/stream-credentials.js';
import type { Lease } from '../leases/lease.js';
import { parseStreamArn, parseStreamIdentifier } from '../leases/stream-identifier.js';

/** The Kinesis API of each configured stream, for operator commands that look at leases. */
export interface LeaseStreams {
  /** The configured stream a lease is of: by its stream identifier in a multi-stream table. */
  apiFor(lease: Lease): KinesisStreamApi | undefined;
  /** Destroys the clients made for streams with a role of their own. */
  close(): void;
}

export function leaseStreams(config: RelayConfig, clients: AwsClients): LeaseStreams {
  const streams = configuredStreams(config);
  // A stream with a role of its own is read under it; the others with the process's client.
  const kinesisClients = streams.map((stream) =>
    stream.roleArn
      ? createKinesisClient({
          region: config.aws.region,
          idleTimeoutMs: config.aws.idleTimeoutMs,
          credentials: streamCredentials(stream, {
            region: config.aws.region,
            sessionName: config.application,
          }),
        })
      : clients.kinesis,
  );
  const apis = streams.map(
    (stream, index) => new KinesisStreamApi(kinesisClients[index] ?? clients.kinesis, stream.name),
  );
  return {
    apiFor: (lease) => {
      if (!lease.streamIdentifier) return config.stream ? apis[0] : undefined;
      const id = parseStreamIdentifier(lease.streamIdentifier);
      // A stream given by ARN names its account too (two accounts may share a stream name).
      return apis.find((api) => {
        const arn = parseStreamArn(api.stream);
        return arn
          ? arn.accountId === id?.accountId && arn.streamName === id.streamName
          : api.stream === id?.streamName;
      });
    },
    close: () => {
      for (const client of kinesisClients) if (client !== clients.kinesis) client.destroy();
    },
  };
}

/** The shard id a lease is of (a multi-stream lease's key also names its stream). */
export function shardIdOf(lease: Lease): string {
  return lease.shardId ?? lease.leaseKey;
}
