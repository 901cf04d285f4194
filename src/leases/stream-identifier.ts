/**
 * The KCL's multi-stream naming (its StreamIdentifier and MultiStreamLease): a stream is
 * `account:streamName:creationEpoch`, and a lease key is that identifier, a colon and the
 * shard id. Pure functions, so a table written by a KCL multi-stream application and ours
 * name the same shard the same way.
 */

export interface StreamIdentity {
  readonly accountId: string;
  readonly streamName: string;
  /** The KCL calls it the stream creation epoch; any positive integer the app chose. */
  readonly creationEpoch: number;
}

// The KCL's own pattern: digits, a name without colons, digits.
const IDENTIFIER = /^([0-9]+):([^:]+):([0-9]+)$/;
const STREAM_ARN = /^arn:aws[^:]*:kinesis:[-a-z0-9]+:([0-9]{12}):stream\/(.+)$/;

export function serializeStreamIdentifier(identity: StreamIdentity): string {
  return `${identity.accountId}:${identity.streamName}:${identity.creationEpoch}`;
}

/** Null when the text is not a multi-stream identifier. */
export function parseStreamIdentifier(text: string): StreamIdentity | null {
  const match = IDENTIFIER.exec(text);
  if (!match?.[1] || !match[2] || !match[3]) return null;
  const creationEpoch = Number(match[3]);
  if (!Number.isSafeInteger(creationEpoch) || creationEpoch <= 0) return null;
  return { accountId: match[1], streamName: match[2], creationEpoch };
}

export function multiStreamLeaseKey(streamIdentifier: string, shardId: string): string {
  return `${streamIdentifier}:${shardId}`;
}

/**
 * Splits a multi-stream lease key at its last colon (shard ids have none); null for a
 * single-stream key (a bare shard id).
 */
export function parseMultiStreamLeaseKey(
  leaseKey: string,
): { streamIdentifier: string; shardId: string } | null {
  const at = leaseKey.lastIndexOf(':');
  if (at <= 0) return null;
  const streamIdentifier = leaseKey.slice(0, at);
  const shardId = leaseKey.slice(at + 1);
  if (!shardId || !parseStreamIdentifier(streamIdentifier)) return null;
  return { streamIdentifier, shardId };
}

/** Account and stream name of a Kinesis stream ARN; null for anything else. */
export function parseStreamArn(arn: string): { accountId: string; streamName: string } | null {
  const match = STREAM_ARN.exec(arn);
  if (!match?.[1] || !match[2]) return null;
  return { accountId: match[1], streamName: match[2] };
}

/**
 * The identifier to use for a stream: the KCL leaves the creation epoch to the
 * application (its own tests pass StreamCreationTimestamp in milliseconds; seconds are as
 * common). A table already holding leases of this account and stream under the creation
 * time in milliseconds or in seconds keeps that identifier, so a KCL application's table
 * is continued; otherwise milliseconds. Leases under any other epoch are of another stream
 * of the same name (deleted and created again) and are not continued.
 */
export function chooseStreamIdentifier(
  stream: { accountId: string; streamName: string; createdAt: Date },
  existingIdentifiers: Iterable<string>,
): string {
  const millis = stream.createdAt.getTime();
  const candidates = [millis, Math.floor(millis / 1000)].map((creationEpoch) =>
    serializeStreamIdentifier({ ...stream, creationEpoch }),
  );
  const existing = new Set(existingIdentifiers);
  return candidates.find((candidate) => existing.has(candidate)) ?? (candidates[0] as string);
}
