import { describe, expect, it } from 'vitest';
import { itemFromLease, isLeaseItem, leaseFromItem } from './lease-codec.js';
import type { Lease } from './lease.js';
import {
  SINGLE_STREAM_SCOPE,
  fromShardView,
  multiStreamScope,
  toShardView,
} from './lease-scope.js';
import {
  chooseStreamIdentifier,
  multiStreamLeaseKey,
  parseMultiStreamLeaseKey,
  parseStreamArn,
  parseStreamIdentifier,
  serializeStreamIdentifier,
} from './stream-identifier.js';

const ORDERS = '123456789012:orders:1764892800000';

describe('KCL stream identifiers and multi-stream lease keys', () => {
  it('serializes account:stream:creationEpoch and reads it back', () => {
    const identity = {
      accountId: '123456789012',
      streamName: 'orders',
      creationEpoch: 1764892800000,
    };
    expect(serializeStreamIdentifier(identity)).toBe(ORDERS);
    expect(parseStreamIdentifier(ORDERS)).toEqual(identity);
    // The KCL's pattern: digits, a name without colons, a positive epoch.
    expect(parseStreamIdentifier('orders')).toBeNull();
    expect(parseStreamIdentifier('12:a:b:3')).toBeNull();
    expect(parseStreamIdentifier('123456789012:orders:0')).toBeNull();
  });

  it('a lease key is the identifier, a colon and the shard id; a bare shard id is none', () => {
    const key = multiStreamLeaseKey(ORDERS, 'shardId-000000000007');
    expect(key).toBe('123456789012:orders:1764892800000:shardId-000000000007');
    expect(parseMultiStreamLeaseKey(key)).toEqual({
      streamIdentifier: ORDERS,
      shardId: 'shardId-000000000007',
    });
    expect(parseMultiStreamLeaseKey('shardId-000000000007')).toBeNull();
  });

  it('reads account and name from a stream ARN, in any partition', () => {
    expect(parseStreamArn('arn:aws:kinesis:eu-west-1:123456789012:stream/orders')).toEqual({
      accountId: '123456789012',
      streamName: 'orders',
    });
    expect(parseStreamArn('arn:aws-cn:kinesis:cn-north-1:123456789012:stream/o')?.streamName).toBe(
      'o',
    );
    expect(parseStreamArn('orders')).toBeNull();
  });

  it('continues the epoch a KCL application used (ms or s), else takes milliseconds', () => {
    const stream = {
      accountId: '123456789012',
      streamName: 'orders',
      createdAt: new Date(1764892800123),
    };
    expect(chooseStreamIdentifier(stream, [])).toBe('123456789012:orders:1764892800123');
    expect(chooseStreamIdentifier(stream, ['123456789012:orders:1764892800'])).toBe(
      '123456789012:orders:1764892800',
    );
    // Another epoch is another stream of that name (deleted and created again): not ours.
    expect(chooseStreamIdentifier(stream, ['123456789012:orders:42'])).toBe(
      '123456789012:orders:1764892800123',
    );
  });
});

/**
 * A lease row exactly as the KCL's DynamoDBMultiStreamLeaseSerializer writes it (base
 * attributes of DynamoDBLeaseSerializer, plus `streamName` holding the serialized stream
 * identifier and `shardId`; KCL 3.5 adds `entityType`), as lib-dynamodb unmarshals it.
 */
const kclItem = {
  leaseKey: `${ORDERS}:shardId-000000000003`,
  leaseCounter: 41,
  leaseOwner: 'kcl-worker-1',
  ownerSwitchesSinceCheckpoint: 0,
  checkpoint: '49650000000000000000000000000000000000000000000000000003',
  checkpointSubSequenceNumber: 2,
  parentShardId: new Set(['shardId-000000000000']),
  startingHashKey: '0',
  endingHashKey: '170141183460469231731687303715884105727',
  throughputKBps: 12.5,
  entityType: 'LEASE',
  streamName: ORDERS,
  shardId: 'shardId-000000000003',
};

describe('the multi-stream lease row', () => {
  it('reads a KCL multi-stream row: stream, shard, bare parent ids', () => {
    const lease = leaseFromItem(kclItem);
    expect(lease).toMatchObject({
      leaseKey: `${ORDERS}:shardId-000000000003`,
      streamIdentifier: ORDERS,
      shardId: 'shardId-000000000003',
      leaseOwner: 'kcl-worker-1',
      leaseCounter: 41,
      checkpoint: {
        sequenceNumber: '49650000000000000000000000000000000000000000000000000003',
        subSequenceNumber: 2,
      },
      parentShardIds: ['shardId-000000000000'],
    });
    const scope = multiStreamScope(ORDERS);
    expect(scope.holds(lease)).toBe(true);
    expect(scope.shardIdOf(lease)).toBe('shardId-000000000003');
    expect(multiStreamScope('123456789012:clicks:1').holds(lease)).toBe(false);
  });

  it('writes the attributes the KCL multi-stream serializer writes', () => {
    const created = fromShardView(
      {
        leaseKey: 'shardId-000000000004',
        leaseOwner: null,
        leaseCounter: 0,
        checkpoint: 'TRIM_HORIZON',
        ownerSwitchesSinceCheckpoint: 0,
        parentShardIds: ['shardId-000000000003'],
        childShardIds: [],
        startingHashKey: '0',
        endingHashKey: '9',
      },
      multiStreamScope(ORDERS),
    );
    expect(itemFromLease(created)).toEqual({
      leaseKey: `${ORDERS}:shardId-000000000004`,
      leaseCounter: 0,
      checkpoint: 'TRIM_HORIZON',
      checkpointSubSequenceNumber: 0,
      ownerSwitchesSinceCheckpoint: 0,
      parentShardId: new Set(['shardId-000000000003']),
      startingHashKey: '0',
      endingHashKey: '9',
      streamName: ORDERS,
      shardId: 'shardId-000000000004',
    });
    // And back: the shard sync sees it by shard id.
    expect(
      toShardView(leaseFromItem(itemFromLease(created)), multiStreamScope(ORDERS)).leaseKey,
    ).toBe('shardId-000000000004');
  });

  it('a single-stream lease row keeps exactly its attributes (no stream attributes)', () => {
    const lease: Lease = {
      leaseKey: 'shardId-000000000001',
      leaseOwner: 'w',
      leaseCounter: 3,
      checkpoint: 'LATEST',
      ownerSwitchesSinceCheckpoint: 1,
      parentShardIds: [],
      childShardIds: [],
      startingHashKey: '0',
      endingHashKey: '9',
    };
    expect(Object.keys(itemFromLease(fromShardView(lease, SINGLE_STREAM_SCOPE))).sort()).toEqual([
      'checkpoint',
      'checkpointSubSequenceNumber',
      'endingHashKey',
      'leaseCounter',
      'leaseKey',
      'leaseOwner',
      'ownerSwitchesSinceCheckpoint',
      'startingHashKey',
    ]);
    expect(leaseFromItem(itemFromLease(lease))).not.toHaveProperty('streamIdentifier');
  });

  it("skips KCL 3.5's other entities kept in the lease table", () => {
    expect(isLeaseItem(kclItem)).toBe(true);
    expect(isLeaseItem({ leaseKey: 'shardId-0' })).toBe(true);
    expect(isLeaseItem({ leaseKey: 'Stream:orders', entityType: 'STREAM' })).toBe(false);
    expect(isLeaseItem({ leaseKey: 'worker-1', entityType: 'WORKER_METRIC_STATS' })).toBe(false);
  });
});
