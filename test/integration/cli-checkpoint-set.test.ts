import { describe, expect, it } from 'vitest';
import { moveShardCheckpoint } from '../../src/cli/checkpoint-command.js';
import type { Checkpoint } from '../../src/core/checkpoint.js';
import type { Lease } from '../../src/leases/lease.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import { leaseFixture } from '../support/lease-fixture.js';
import { useTestStack, uniqueName } from '../support/stack.js';

const shardId = 'shardId-000000000000';

/** A real lease table where a live worker takes the lease just before the CLI's first write. */
class TakenBeforeTheWrite extends LeaseStore {
  private raced = false;

  override async forceCheckpoint(lease: Lease, checkpoint: Checkpoint, at?: Date): Promise<void> {
    if (!this.raced) {
      this.raced = true;
      const now = (await this.listLeases()).find((l) => l.leaseKey === shardId);
      if (now) await this.take(now, 'live-worker');
    }
    await super.forceCheckpoint(lease, checkpoint, at);
  }
}

describe('kinesis-relay checkpoint set racing a worker', () => {
  const test = useTestStack();

  async function table(): Promise<TakenBeforeTheWrite> {
    const store = new TakenBeforeTheWrite(test.clients.dynamo, uniqueName('cpset-race'));
    await store.ensureTable();
    await store.createLeaseIfAbsent(leaseFixture(shardId, null, { leaseCounter: 0 }));
    return store;
  }

  it('without --force, a lease a worker takes between the read and the write is left alone (exit 1, says so)', async () => {
    const store = await table();
    const said: string[] = [];
    const code = await moveShardCheckpoint(store, 1500, {
      shardId,
      to: { checkpoint: { sequenceNumber: '4950', subSequenceNumber: 0 } },
      force: false,
      say: (line) => said.push(line),
    });
    const lease = (await store.listLeases()).find((l) => l.leaseKey === shardId);
    expect(lease?.leaseOwner).toBe('live-worker');
    // The worker's take stands: its counter is the one it wrote, the checkpoint unmoved.
    expect(lease?.leaseCounter).toBe(1);
    expect(lease?.checkpoint).toBe('TRIM_HORIZON');
    expect(code).toBe(1);
    expect(said.join('\n')).toContain('refused');
  });

  it('with --force, the same race still moves the checkpoint (the worker loses the lease)', async () => {
    const store = await table();
    const code = await moveShardCheckpoint(store, 1500, {
      shardId,
      to: { checkpoint: { sequenceNumber: '4950', subSequenceNumber: 0 } },
      force: true,
      say: () => undefined,
    });
    expect(code).toBe(0);
    const lease = (await store.listLeases()).find((l) => l.leaseKey === shardId);
    expect(lease?.checkpoint).toEqual({ sequenceNumber: '4950', subSequenceNumber: 0 });
    expect(lease?.leaseCounter).toBe(2);
  });
});
