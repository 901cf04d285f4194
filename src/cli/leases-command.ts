import { configuredStreams, type RelayConfig } from '../config/schema.js';
import { describeCheckpoint } from '../core/checkpoint.js';
import { createAwsClients, createKinesisClient, destroyAwsClients } from '../kinesis/clients.js';
import { streamCredentials } from '../kinesis/stream-credentials.js';
import type { Lease } from '../leases/lease.js';
import { parseStreamArn, parseStreamIdentifier } from '../leases/stream-identifier.js';
import { KinesisStreamApi } from '../kinesis/stream-api.js';
import { LeaseStore } from '../leases/lease-store.js';
import { describeLag } from './shard-lag.js';

/**
 * The lease table as a text table, one shard per line. LAG is the age of the first
 * record after the checkpoint; `?` where Kinesis could not tell (a trimmed shard, say).
 */
export async function listLeases(config: RelayConfig): Promise<string> {
  const clients = createAwsClients({
    region: config.aws.region,
    idleTimeoutMs: config.aws.idleTimeoutMs,
  });
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
  /** The configured stream a lease is of: by its stream identifier in a multi-stream table. */
  const apiFor = (lease: Lease): KinesisStreamApi | undefined => {
    if (!lease.streamIdentifier) return config.stream ? apis[0] : undefined;
    const id = parseStreamIdentifier(lease.streamIdentifier);
    // A stream given by ARN names its account too (two accounts may share a stream name).
    return apis.find((api) => {
      const arn = parseStreamArn(api.stream);
      return arn
        ? arn.accountId === id?.accountId && arn.streamName === id.streamName
        : api.stream === id?.streamName;
    });
  };
  try {
    const store = new LeaseStore(clients.dynamo, config.leases.table ?? config.application);
    const leases = (await store.listLeases()).sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
    // One shard at a time: two calls each, well inside Kinesis' per-shard and per-stream limits.
    const lags: string[] = [];
    for (const lease of leases) {
      const api = apiFor(lease);
      lags.push((api && (await describeLag(api, lease).catch(() => null))) ?? '?');
    }
    const rows = [
      ['SHARD', 'OWNER', 'COUNTER', 'CHECKPOINT', 'LAG', 'PARENTS'],
      ...leases.map((lease, index) => [
        lease.leaseKey,
        lease.leaseOwner ?? '-',
        String(lease.leaseCounter),
        describeCheckpoint(lease.checkpoint),
        lags[index] ?? '?',
        lease.parentShardIds.join(',') || '-',
      ]),
    ];
    const widths =
      rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
    return (
      rows
        .map((row) =>
          row
            .map((cell, column) => cell.padEnd(widths[column] ?? 0))
            .join('  ')
            .trimEnd(),
        )
        .join('\n') + '\n'
    );
  } finally {
    for (const client of kinesisClients) if (client !== clients.kinesis) client.destroy();
    destroyAwsClients(clients);
  }
}
