import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { LeaseRenewer } from './lease-renewer.js';
import type { LeaseStore } from './lease-store.js';

const silent = createLogger('silent');
const SHARD = 'shardId-000000000000';

type Call = () => Promise<void>;

/** A lease store whose answers a test decides, call by call (renew and checkpoint). */
function fakeStore(answer: { renew?: Call; checkpoint?: Call } = {}) {
  const calls: string[] = [];
  const store = {
    async renew(_shard: string, _owner: string, expected: number) {
      calls.push('renew');
      await (answer.renew ?? (() => Promise.resolve()))();
      return { counter: expected + 1, handoffTo: null };
    },
    async checkpoint(_shard: string, _owner: string, expected: number) {
      calls.push('checkpoint');
      await (answer.checkpoint ?? (() => Promise.resolve()))();
      return { counter: expected + 1, handoffTo: null };
    },
    async release() {
      calls.push('release');
    },
  };
  return { store: store as unknown as LeaseStore, calls };
}

const never = () => new Promise<void>(() => undefined);
const throttled = () => {
  const error = new Error('Rate of requests exceeds the allowed throughput');
  error.name = 'ProvisionedThroughputExceededException';
  return Promise.reject(error);
};

/** Everything that made the shard stop reading (paused or lost), in order. */
function watch(renewer: LeaseRenewer) {
  const events: string[] = [];
  renewer.onLost((id, reason) => events.push(`lost ${id} ${reason}`));
  const withPause = renewer as unknown as {
    onPaused?: (listener: (id: string) => void) => void;
    onResumed?: (listener: (id: string) => void) => void;
  };
  withPause.onPaused?.((id) => events.push(`paused ${id}`));
  withPause.onResumed?.((id) => events.push(`resumed ${id}`));
  return events;
}

describe('LeaseRenewer timing', () => {
  let clock = 0;
  const now = () => clock;
  /** Moves the injected clock and the fake timers together, in small steps. */
  async function advance(ms: number): Promise<void> {
    for (let done = 0; done < ms; done += 10) {
      clock += 10;
      await vi.advanceTimersByTimeAsync(10);
    }
  }

  beforeEach(() => {
    clock = 1_000_000;
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('a stuck DynamoDB call does not delay lease self-expiry', async () => {
    const { store } = fakeStore({ renew: never, checkpoint: never });
    const renewer = new LeaseRenewer(
      store,
      { workerId: 'me', renewIntervalMs: 1000, failoverMs: 3000, now },
      silent,
    );
    const events = watch(renewer);
    renewer.add(SHARD, 1);
    renewer.start();
    void renewer.checkpoint(SHARD, { sequenceNumber: '7', subSequenceNumber: 0 }).catch(() => {});
    // Another worker may take the lease once its counter stood still for 3 s on its clock:
    // the owner must have stopped reading before that.
    await advance(3000);
    renewer.stop();
    expect(events[0]).toMatch(new RegExp(`^(paused|lost) ${SHARD}`));
  });

  it('self-expiry counts from when the successful renewal was sent, not answered', async () => {
    let renewals = 0;
    const { store } = fakeStore({
      // The first renewal is applied at once but answered 1.5 s later; the rest hang.
      renew: () => (renewals++ === 0 ? new Promise((r) => setTimeout(r, 1500)) : never()),
    });
    const renewer = new LeaseRenewer(
      store,
      { workerId: 'me', renewIntervalMs: 1000, failoverMs: 3000, now },
      silent,
    );
    const events = watch(renewer);
    renewer.add(SHARD, 1);
    renewer.start();
    // Renewal sent at +1 s: others may see its counter unchanged from then on, so the owner
    // must stop reading before +4 s (it must not count from the answer at +2.5 s).
    await advance(3950);
    renewer.stop();
    expect(renewals).toBeGreaterThanOrEqual(1);
    expect(events[0]).toMatch(new RegExp(`^(paused|lost) ${SHARD}`));
  });

  it('a successful checkpoint write counts as a renewal', async () => {
    const { store, calls } = fakeStore({ renew: never });
    const renewer = new LeaseRenewer(
      store,
      { workerId: 'me', renewIntervalMs: 1000, failoverMs: 3000, now },
      silent,
    );
    const events = watch(renewer);
    renewer.add(SHARD, 1);
    await advance(2000);
    await renewer.checkpoint(SHARD, { sequenceNumber: '7', subSequenceNumber: 0 });
    await advance(2000); // 4 s after the take, 2 s after the checkpoint
    expect(calls).toContain('checkpoint');
    expect(events).toEqual([]);
  });

  it('throttled renewals pause the shard and a later conditional renewal resumes it: the lease is kept', async () => {
    let throttleUntil = clock + 5000;
    const { store } = fakeStore({
      renew: () => (clock < throttleUntil ? throttled() : Promise.resolve()),
    });
    const renewer = new LeaseRenewer(
      store,
      { workerId: 'me', renewIntervalMs: 1000, failoverMs: 3000, now },
      silent,
    );
    const events = watch(renewer);
    renewer.add(SHARD, 1);
    renewer.start();
    await advance(7000);
    renewer.stop();
    expect(events).toEqual([`paused ${SHARD}`, `resumed ${SHARD}`]);
    expect(renewer.holds(SHARD)).toBe(true);
    throttleUntil = 0;
  });

  it('a renewal that fails its condition loses the lease', async () => {
    const { store } = fakeStore({
      renew: () =>
        Promise.reject(new ConditionalCheckFailedException({ message: 'moved', $metadata: {} })),
    });
    const renewer = new LeaseRenewer(
      store,
      { workerId: 'me', renewIntervalMs: 1000, failoverMs: 3000, now },
      silent,
    );
    const events = watch(renewer);
    renewer.add(SHARD, 1);
    renewer.start();
    await advance(1100);
    renewer.stop();
    expect(events).toEqual([`lost ${SHARD} taken by another worker`]);
  });

  it('lease timing ignores a wall-clock step (NTP): a live lease is not self-expired', async () => {
    let wall = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => wall);
    const { store } = fakeStore();
    const renewer = new LeaseRenewer(
      store,
      { workerId: 'me', renewIntervalMs: 1000, failoverMs: 3000 },
      silent,
    );
    const events = watch(renewer);
    renewer.add(SHARD, 1);
    renewer.start();
    wall += 3_600_000;
    await vi.advanceTimersByTimeAsync(2500);
    renewer.stop();
    expect(events).toEqual([]);
  });

  it('a handoff request is noticed from a checkpoint write too, when checkpoints leave no renewal due', async () => {
    const { store, calls } = fakeStore();
    (store as unknown as { checkpoint: () => Promise<unknown> }).checkpoint = () => {
      calls.push('checkpoint');
      return Promise.resolve({ counter: 2, handoffTo: 'next-worker' });
    };
    const renewer = new LeaseRenewer(
      store,
      { workerId: 'me', renewIntervalMs: 1000, failoverMs: 3000, now },
      silent,
    );
    const asked: string[] = [];
    renewer.onHandoff((id, next) => asked.push(`${id} -> ${next}`));
    renewer.add(SHARD, 1);
    await renewer.checkpoint(SHARD, { sequenceNumber: '7', subSequenceNumber: 0 });
    await advance(50);
    expect(calls).toEqual(['checkpoint']);
    expect(asked).toEqual([`${SHARD} -> next-worker`]);
  });

  it('with an exactly-once sink a lease not renewed in time is lost at once, not paused', async () => {
    const { store } = fakeStore({ renew: throttled });
    const renewer = new LeaseRenewer(
      store,
      { workerId: 'me', renewIntervalMs: 1000, failoverMs: 3000, maxPauseMs: 0, now },
      silent,
    );
    const events = watch(renewer);
    renewer.add(SHARD, 1);
    renewer.start();
    await advance(3000);
    renewer.stop();
    expect(events).toEqual([`lost ${SHARD} not renewed within the failover time`]);
  });

  it('a failed checkpoint write brings the next renewal forward, as a failed renewal does', async () => {
    const { store, calls } = fakeStore({ checkpoint: throttled });
    const renewer = new LeaseRenewer(
      store,
      { workerId: 'me', renewIntervalMs: 1000, failoverMs: 3000, now },
      silent,
    );
    renewer.add(SHARD, 1);
    renewer.start();
    await advance(200);
    await expect(
      renewer.checkpoint(SHARD, { sequenceNumber: '7', subSequenceNumber: 0 }),
    ).rejects.toThrow();
    await advance(400); // 600 ms after the take: a renewal would only be due at 1000
    renewer.stop();
    expect(calls).toEqual(['checkpoint', 'renew']);
  });
});
