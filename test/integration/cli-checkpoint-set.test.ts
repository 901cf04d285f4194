import { describe, expect, it } from 'vitest';
import { moveShardCheckpoint } from '../../src/cli/checkpoint-command.js';
import type { Checkpoint } from '../../src/core/checkpoint.js';
import type { Lease } from '../../src/leases/lease.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import { leaseFixture } from '../support/lease-fixture.js';
import { createStream, putAll } from '../../src/demo/producer.js';
import { numberedRecord } from '../support/records.js';
import { testRelayConfig } from '../support/relay-config.js';
import { runCli, writeConfig } from '../support/relay-process.js';
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

describe('kinesis-relay checkpoint set to a sequence number the shard does not hold', () => {
  const test = useTestStack();

  it('a sequence number of another shard, or past the end, is refused with exit 2 and nothing written (the relay would replay the whole shard from TRIM_HORIZON)', async () => {
    const names = {
      stream: uniqueName('cpset-seq'),
      table: uniqueName('cpset-seq-leases'),
      bucket: uniqueName('cpset-seq-archive'),
    };
    await createStream(test.clients.kinesis, names.stream, 2);
    const put = await putAll(
      test.clients.kinesis,
      names.stream,
      Array.from({ length: 60 }, (_, i) => numberedRecord(i)),
    );
    const [first, second] = [...new Set(put.map((r) => r.shardId))].sort() as [string, string];
    const onFirst = put.filter((r) => r.shardId === first);
    const onSecond = put.filter((r) => r.shardId === second);
    const store = new LeaseStore(test.clients.dynamo, names.table);
    await store.ensureTable();
    await store.createLeaseIfAbsent(leaseFixture(first, null, { leaseCounter: 0 }));
    const configPath = writeConfig(testRelayConfig(names));
    const set = (to: string) =>
      runCli(['checkpoint', 'set', '--config', configPath, '--shard', first, '--to', to]);

    const otherShards = onSecond.at(-1)?.sequenceNumber ?? '';
    const pastTheEnd = (BigInt(onFirst.at(-1)?.sequenceNumber ?? '0') + 10n ** 30n).toString();
    for (const to of [otherShards, pastTheEnd]) {
      const refused = await set(to);
      expect(refused.code).toBe(2);
      expect(refused.output).toContain(`is not a sequence number of ${first}`);
      expect((await store.listLeases()).find((l) => l.leaseKey === first)?.checkpoint).toBe(
        'TRIM_HORIZON',
      );
    }

    const good = onFirst[10]?.sequenceNumber ?? '';
    const moved = await set(good);
    expect(moved.code).toBe(0);
    expect((await store.listLeases()).find((l) => l.leaseKey === first)?.checkpoint).toEqual({
      sequenceNumber: good,
      subSequenceNumber: 0,
    });
  });
});

describe('kinesis-relay checkpoint set on a finished shard', () => {
  const test = useTestStack();

  it('a shard at SHARD_END is left alone without --force (its children carry on from its end)', async () => {
    const store = new LeaseStore(test.clients.dynamo, uniqueName('cpset-end'));
    await store.ensureTable();
    await store.createLeaseIfAbsent(
      leaseFixture(shardId, null, {
        leaseCounter: 0,
        checkpoint: 'SHARD_END',
        childShardIds: ['shardId-000000000002'],
      }),
    );
    const said: string[] = [];
    const set = (force: boolean) =>
      moveShardCheckpoint(store, 1500, {
        shardId,
        to: { checkpoint: 'TRIM_HORIZON' },
        force,
        say: (line) => said.push(line),
      });
    expect(await set(false)).toBe(1);
    expect(said.join('\n')).toContain('SHARD_END');
    expect((await store.listLeases()).find((l) => l.leaseKey === shardId)?.checkpoint).toBe(
      'SHARD_END',
    );
    expect(await set(true)).toBe(0);
    expect((await store.listLeases()).find((l) => l.leaseKey === shardId)?.checkpoint).toBe(
      'TRIM_HORIZON',
    );
  });
});

describe('kinesis-relay checkpoint set --shard on a multi-stream table', () => {
  const test = useTestStack();

  it('a bare shard id names the lease keys that hold it (a usage error, nothing written)', async () => {
    const store = new LeaseStore(test.clients.dynamo, uniqueName('cpset-multi'));
    await store.ensureTable();
    const stream = '123456789012:events:1700000000';
    await store.createLeaseIfAbsent(
      leaseFixture(`${stream}:${shardId}`, null, {
        leaseCounter: 0,
        streamIdentifier: stream,
        shardId,
      }),
    );
    const attempt = moveShardCheckpoint(store, 1500, {
      shardId,
      to: { checkpoint: 'TRIM_HORIZON' },
      force: false,
      say: () => undefined,
    });
    await expect(attempt).rejects.toThrow(`${stream}:${shardId}`);
  });
});
