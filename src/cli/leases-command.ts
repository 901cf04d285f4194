import type { RelayConfig } from '../config/schema.js';
import { describeCheckpoint } from '../core/checkpoint.js';
import { createAwsClients, destroyAwsClients } from '../kinesis/clients.js';
import { LeaseStore } from '../leases/lease-store.js';

/** The lease table as a text table, one shard per line. */
export async function listLeases(config: RelayConfig): Promise<string> {
  const clients = createAwsClients({ region: config.aws.region });
  try {
    const store = new LeaseStore(clients.dynamo, config.leases.table ?? config.application);
    const leases = (await store.listLeases()).sort((a, b) => a.leaseKey.localeCompare(b.leaseKey));
    const rows = [
      ['SHARD', 'OWNER', 'COUNTER', 'CHECKPOINT', 'PARENTS'],
      ...leases.map((lease) => [
        lease.leaseKey,
        lease.leaseOwner ?? '-',
        String(lease.leaseCounter),
        describeCheckpoint(lease.checkpoint),
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
    destroyAwsClients(clients);
  }
}
