import type { RelayConfig } from '../config/schema.js';
import { describeCheckpoint, type Checkpoint } from '../core/checkpoint.js';
import { UsageError, awsErrorName, errorMessage } from '../core/errors.js';
import { createAwsClients, destroyAwsClients } from '../kinesis/clients.js';
import type { KinesisStreamApi } from '../kinesis/stream-api.js';
import type { Lease } from '../leases/lease.js';
import { LeaseStore, isConditionFailure } from '../leases/lease-store.js';
import { leaseStreams, shardIdOf } from './lease-streams.js';
import { parseIsoTimeFlag } from './time-flag.js';

export interface CheckpointTarget {
  readonly checkpoint: Checkpoint;
  readonly timestamp?: Date;
}

/** `--to TRIM_HORIZON | LATEST | <sequence>[/<sub-sequence>] | <ISO-8601 time>` */
export function parseCheckpointTarget(text: string, now = new Date()): CheckpointTarget {
  if (text === 'TRIM_HORIZON' || text === 'LATEST') return { checkpoint: text };
  const sequence = /^(\d{1,129})(?:\/(\d+))?$/.exec(text);
  if (sequence) {
    return {
      checkpoint: {
        sequenceNumber: sequence[1] ?? '',
        subSequenceNumber: Number(sequence[2] ?? 0),
      },
    };
  }
  const timestamp = parseIsoTimeFlag('--to', text, { dateOnly: false });
  if (timestamp) {
    // The shard would skip every record that arrives until then; LATEST says that on purpose.
    if (timestamp.getTime() > now.getTime()) {
      throw new UsageError(
        `--to: ${timestamp.toISOString()} is in the future: every record until then would be skipped (LATEST skips to now)`,
      );
    }
    return { checkpoint: 'AT_TIMESTAMP', timestamp };
  }
  throw new UsageError(
    `--to: '${text}' is not TRIM_HORIZON, LATEST, a sequence number or an ISO-8601 time`,
  );
}

export interface CheckpointSetOptions {
  readonly shardId: string;
  readonly to: CheckpointTarget;
  readonly force: boolean;
  readonly say: (line: string) => void;
}

/**
 * Moves one shard's checkpoint. A lease whose counter moves while we watch it (for up to
 * the failover time, the KCL's own test of liveness) has a live owner: refused unless
 * forced. Forcing bumps the counter, so that owner's next conditional write fails and it
 * stops reading; the shard then resumes from the new checkpoint.
 */
export async function setCheckpoint(
  config: RelayConfig,
  options: CheckpointSetOptions,
): Promise<number> {
  const clients = createAwsClients({
    region: config.aws.region,
    idleTimeoutMs: config.aws.idleTimeoutMs,
  });
  const streams = leaseStreams(config, clients);
  try {
    const store = new LeaseStore(clients.dynamo, config.leases.table ?? config.application);
    return await moveShardCheckpoint(store, config.leases.failoverMs, options, (lease) =>
      checkSequenceNumber(streams.apiFor(lease), lease, options.to),
    );
  } finally {
    streams.close();
    destroyAwsClients(clients);
  }
}

/** `setCheckpoint` on a lease table at hand. */
export async function moveShardCheckpoint(
  store: LeaseStore,
  failoverMs: number,
  options: CheckpointSetOptions,
  checkTarget: (lease: Lease) => Promise<void> = () => Promise.resolve(),
): Promise<number> {
  const find = async () => (await store.listLeases()).find((l) => l.leaseKey === options.shardId);
  const lease = await find();
  if (!lease) {
    // A multi-stream table keys its leases `account:stream:epoch:shardId`: name them.
    const keys = (await store.listLeases())
      .filter((l) => l.shardId === options.shardId)
      .map((l) => l.leaseKey);
    throw new UsageError(
      `no lease for shard ${options.shardId} in ${store.tableName}` +
        (keys.length > 0
          ? ` (a multi-stream table: --shard takes the lease key, one of ${keys.join(', ')})`
          : ''),
    );
  }
  await checkTarget(lease);
  if (lease.checkpoint === 'SHARD_END' && !options.force) {
    options.say(
      `refused: ${options.shardId} is at SHARD_END and its children (${lease.childShardIds.join(', ') || 'none recorded'}) carry on from its end; moving it reads it again after them (per-key order lost). Use --force to do it anyway.`,
    );
    return 1;
  }
  if (lease.leaseOwner && !options.force) {
    options.say(
      `${options.shardId} is owned by ${lease.leaseOwner}; watching its lease for up to ${failoverMs} ms to see whether that worker is alive…`,
    );
    const alive = await ownerIsAlive(find, lease, failoverMs);
    if (alive) {
      options.say(
        `refused: ${lease.leaseOwner} is alive and holds ${options.shardId}. Stop it first, or use --force.`,
      );
      return 1;
    }
    // The write below is conditional on the counter watched: a worker that takes the lease
    // from here on makes it fail, and the command refuses.
  }
  const moved = await moveCheckpoint(store, find, lease, options);
  if (!moved.ok) {
    const owner = moved.now?.leaseOwner ?? 'no owner';
    options.say(
      `refused: the lease of ${options.shardId} changed while the checkpoint was being moved (now ${owner}, counter ${moved.now?.leaseCounter ?? '?'}); nothing was written. Run again, or use --force.`,
    );
    return 1;
  }
  const before = moved.lease;
  const target = options.to.timestamp
    ? `AT_TIMESTAMP ${options.to.timestamp.toISOString()}`
    : describeCheckpoint(options.to.checkpoint);
  options.say(
    `${options.shardId}: checkpoint ${describeCheckpoint(before.checkpoint)} → ${target}`,
  );
  return 0;
}

/**
 * A sequence number must be one the shard holds: the relay restarts AT it, and one Kinesis
 * refuses (another shard's, past the end, a typo) would restart the shard at TRIM_HORIZON
 * (iterator-start.ts: what a trimmed checkpoint does), a replay of the whole retention.
 */
async function checkSequenceNumber(
  api: KinesisStreamApi | undefined,
  lease: Lease,
  to: CheckpointTarget,
): Promise<void> {
  if (typeof to.checkpoint === 'string') return;
  const shardId = shardIdOf(lease);
  if (!api) throw new UsageError(`${lease.leaseKey} is not a shard of a configured stream`);
  const { sequenceNumber } = to.checkpoint;
  try {
    await api.getShardIterator(shardId, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber });
  } catch (error) {
    const name = awsErrorName(error);
    if (name !== 'InvalidArgumentException' && name !== 'ResourceNotFoundException') throw error;
    throw new UsageError(
      `--to: ${sequenceNumber} is not a sequence number of ${shardId} that Kinesis holds (${name}: ${errorMessage(error)}); nothing was written`,
    );
  }
}

/**
 * The write is conditional on the counter last read. Without --force a counter that moved
 * means a worker took or renewed the lease since we judged it: refused, never retried over
 * it. With --force a live owner renewing moves it under us, so read again and retry.
 */
async function moveCheckpoint(
  store: LeaseStore,
  find: () => Promise<Lease | undefined>,
  seen: Lease,
  options: CheckpointSetOptions,
): Promise<{ ok: true; lease: Lease } | { ok: false; now: Lease | undefined }> {
  const { to } = options;
  let lease = seen;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await store.forceCheckpoint(lease, to.checkpoint, to.timestamp);
      return { ok: true, lease };
    } catch (error) {
      if (!isConditionFailure(error) || attempt >= 10) throw error;
      const now = await find();
      if (!options.force || !now) return { ok: false, now };
      lease = now;
    }
  }
}

async function ownerIsAlive(
  find: () => Promise<Lease | undefined>,
  seen: Lease,
  failoverMs: number,
): Promise<boolean> {
  const deadline = Date.now() + failoverMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(500, failoverMs)));
    const now = await find();
    if (!now || now.leaseCounter !== seen.leaseCounter) return true;
  }
  return false;
}
