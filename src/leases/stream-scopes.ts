import type { Logger } from '../observability/logger.js';
import type { Lease } from './lease.js';
import { SINGLE_STREAM_SCOPE, multiStreamScope, type LeaseScope } from './lease-scope.js';
import type { ShardInfo } from './shard-sync.js';
import { parseMultiStreamLeaseKey, parseStreamIdentifier } from './stream-identifier.js';

/** One stream whose shards the lease table holds. */
export interface LeaseStream {
  /** As configured (a name or an ARN): what the listener is told. */
  readonly name: string;
  readonly initialPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  listShards(): Promise<readonly ShardInfo[]>;
  /**
   * Multi-stream tables only (config `streams:`): the KCL stream identifier
   * (`account:stream:creationEpoch`), given the identifiers already in the table.
   */
  identify?(existing: ReadonlySet<string>): Promise<string>;
}

/** The shard a lease is for, and its stream (`LeaseStream.name`). */
export interface LeasedShard {
  readonly stream: string;
  readonly shardId: string;
}

export interface StreamScope {
  readonly stream: LeaseStream;
  readonly scope: LeaseScope;
}

/**
 * Multi-stream mode: each stream's KCL identifier, chosen once at start against the
 * identifiers already in the table (a KCL application's table keeps its own).
 */
export async function identifyStreams(
  streams: readonly LeaseStream[],
  table: readonly Lease[],
  log: Logger,
): Promise<StreamScope[]> {
  const existing = new Set<string>();
  for (const lease of table) if (lease.streamIdentifier) existing.add(lease.streamIdentifier);
  const scopes = await Promise.all(
    streams.map(async (stream) => {
      if (!stream.identify) throw new Error(`stream ${stream.name} has no KCL identifier`);
      const identifier = await stream.identify(existing);
      log.info({ stream: stream.name, streamIdentifier: identifier }, 'stream identified');
      const others = sameStreamOtherEpoch(identifier, existing);
      if (others.length > 0)
        log.warn(
          { stream: stream.name, streamIdentifier: identifier, others },
          'the lease table holds leases of this stream under another creation epoch (the stream was created again, or a KCL application chose its own epoch): they are not continued',
        );
      return { stream, scope: multiStreamScope(identifier) };
    }),
  );
  // One stream listed twice (by name and by ARN, say) would share its leases with itself.
  const identifiers = scopes.map(({ scope }) => scope.streamIdentifier);
  const twice = identifiers.find((id, index) => identifiers.indexOf(id) !== index);
  if (twice) throw new Error(`streams lists the stream ${twice} twice`);
  return scopes;
}

/** The stream and shard a lease stands for (a lease of no scope: the first stream's). */
export function leasedShardOf(scopes: readonly StreamScope[], lease: Lease): LeasedShard {
  const owner = scopes.find(({ scope }) => scope.holds(lease)) ?? scopes[0];
  return {
    stream: owner?.stream.name ?? '',
    shardId: (owner?.scope ?? SINGLE_STREAM_SCOPE).shardIdOf(lease),
  };
}

/**
 * A table holds single-stream leases (key = shard id) or multi-stream ones, never both:
 * moving from `stream:` to `streams:` on the same table would start every shard again
 * from its initial position (the old leases belong to no stream), and the other way
 * round read multi-stream keys as shard ids. Refused, with what to do.
 */
export function checkTableFormat(
  table: readonly Lease[],
  multiStream: boolean,
  tableName: string,
): void {
  const isMulti = (lease: Lease) =>
    Boolean(lease.streamIdentifier) || parseMultiStreamLeaseKey(lease.leaseKey) !== null;
  const foreign = table.find((lease) => isMulti(lease) !== multiStream);
  if (!foreign) return;
  throw new Error(
    multiStream
      ? `lease table ${tableName} holds single-stream leases (${foreign.leaseKey}): it belongs to a stream: configuration; give streams: a table of its own (leases.table)`
      : `lease table ${tableName} holds KCL multi-stream leases (${foreign.leaseKey}): configure its streams with streams:`,
  );
}

/** Identifiers of the same account and stream name as `identifier`, other than it. */
function sameStreamOtherEpoch(identifier: string, existing: ReadonlySet<string>): string[] {
  const own = parseStreamIdentifier(identifier);
  return [...existing].filter((other) => {
    const parsed = parseStreamIdentifier(other);
    return (
      other !== identifier &&
      parsed?.accountId === own?.accountId &&
      parsed?.streamName === own?.streamName
    );
  });
}
