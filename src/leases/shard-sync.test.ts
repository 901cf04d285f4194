import { describe, expect, it } from 'vitest';
import type { Checkpoint } from '../core/checkpoint.js';
import type { Lease } from './lease.js';
import { leaseTableRepairs, leasesToCreate, type ShardInfo } from './shard-sync.js';
import { leaseFixture } from '../../test/support/lease-fixture.js';

function shard(shardId: string, parentShardIds: string[] = []): ShardInfo {
  return { shardId, parentShardIds, startingHashKey: '0', endingHashKey: '1' };
}

function lease(
  leaseKey: string,
  checkpoint: Checkpoint,
  family: { parents?: string[]; children?: string[] } = {},
): Lease {
  return leaseFixture(leaseKey, null, {
    leaseCounter: 3,
    checkpoint,
    parentShardIds: family.parents ?? [],
    childShardIds: family.children ?? [],
    startingHashKey: '0',
    endingHashKey: '1',
  });
}

const at = (sequenceNumber: string): Checkpoint => ({ sequenceNumber, subSequenceNumber: 0 });

// shard-0 split into shard-1 and shard-2; all three still listed (within the retention).
const shards = [shard('shard-0'), shard('shard-1', ['shard-0']), shard('shard-2', ['shard-0'])];
const parent = lease('shard-0', 'SHARD_END', { children: ['shard-1', 'shard-2'] });

describe('cleaning up the leases of finished shards', () => {
  it('a finished lease is deleted once every child has checkpointed past its start', () => {
    const leases = [
      parent,
      lease('shard-1', at('7'), { parents: ['shard-0'] }),
      lease('shard-2', 'SHARD_END', { parents: ['shard-0'] }),
    ];
    expect(leaseTableRepairs(shards, leases).removable.map((l) => l.leaseKey)).toEqual(['shard-0']);
  });

  it('a finished lease stays while a child has not started (others wait on it)', () => {
    const leases = [
      parent,
      lease('shard-1', at('7'), { parents: ['shard-0'] }),
      lease('shard-2', 'TRIM_HORIZON', { parents: ['shard-0'] }),
    ];
    expect(leaseTableRepairs(shards, leases).removable).toEqual([]);
    expect(leaseTableRepairs(shards, [parent]).removable).toEqual([]);
  });

  it('a listed shard whose lease was cleaned up is not leased again (never re-read)', () => {
    const grandchild = shard('shard-3', ['shard-1']);
    const leases = [
      lease('shard-2', at('9'), { parents: ['shard-0'] }),
      lease('shard-3', at('4'), { parents: ['shard-1'] }),
    ];
    // shard-0 and shard-1 finished and were cleaned up; only shard-2/3 hold leases.
    expect(leasesToCreate([...shards, grandchild], leases, 'TRIM_HORIZON')).toEqual([]);
  });

  it('a finished lease whose shard is no longer listed (trimmed) is deleted as before', () => {
    expect(leaseTableRepairs([], [parent]).removable).toEqual([parent]);
  });
});
