import type { RelayConfig } from '../config/schema.js';
import { describeCheckpoint } from '../core/checkpoint.js';
import { createAwsClients, destroyAwsClients } from '../kinesis/clients.js';
import { LeaseStore } from '../leases/lease-store.js';
import { leaseStreams } from './lease-streams.js';
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
  const streams = leaseStreams(config, clients);
  try {
    const store = new LeaseStore(clients.dynamo, config.leases.table ?? config.application);
    const leases = (await store.listLeases()).sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
    // One shard at a time: two calls each, well inside Kinesis' per-shard and per-stream limits.
    const lags: string[] = [];
    for (const lease of leases) {
      const api = streams.apiFor(lease);
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
    streams.close();
    destroyAwsClients(clients);
  }
}
