import { describe, expect, it } from 'vitest';
import { CapacityGate } from '../sinks/capacity-gate.js';
import { createMetrics, setSinkProgressGrace, type SinkProgress } from './metrics.js';
import { evaluateLiveness, livenessStallMs, type LivenessInput } from './liveness.js';

const T0 = 1_000_000;
const STALL = 60_000;
const LIVENESS = 180_000;

function input(overrides: Partial<LivenessInput> = {}): LivenessInput {
  return {
    leasesSynced: true,
    lastReads: new Map(),
    sinkProgress: new Map(),
    ownedShards: [],
    livenessStallAfterMs: LIVENESS,
    now: T0,
    ...overrides,
  };
}

const read = (at: number) => ({ at });
const sink = (progress: SinkProgress) => new Map([['warehouse', progress]]);

describe('liveness: the same stalls as /readyz, only once they last much longer', () => {
  it('a shard stalled longer than the liveness threshold fails liveness, naming it', () => {
    const lastReads = new Map([
      ['shardId-000000000000', read(T0)],
      ['shardId-000000000001', read(T0 + LIVENESS)],
    ]);
    const ownedShards = ['shardId-000000000000', 'shardId-000000000001'];
    expect(evaluateLiveness(input({ lastReads, ownedShards, now: T0 + LIVENESS }))).toEqual({
      alive: true,
    });
    expect(evaluateLiveness(input({ lastReads, ownedShards, now: T0 + LIVENESS + 1 }))).toEqual({
      alive: false,
      reason: 'shard(s) stalled longer than 180000 ms: shardId-000000000000',
    });
  });

  it('a sink holding events without progress for longer than the threshold plus its grace fails liveness', () => {
    const progress = { holding: true, lastProgressAt: T0, graceMs: 600_000 };
    expect(
      evaluateLiveness(input({ sinkProgress: sink(progress), now: T0 + LIVENESS + 600_000 })),
    ).toEqual({ alive: true });
    expect(
      evaluateLiveness(input({ sinkProgress: sink(progress), now: T0 + LIVENESS + 600_001 })),
    ).toEqual({
      alive: false,
      reason: 'sink(s) without progress for longer than 180000 ms: warehouse',
    });
  });

  it('a sink legitimately holding events up to its buffer.maxAgeMs stays alive', () => {
    // An hourly S3 sink: an hour without a finished batch is by design.
    const hourly = { holding: true, lastProgressAt: T0, graceMs: 3_600_000 };
    expect(
      evaluateLiveness(input({ sinkProgress: sink(hourly), now: T0 + 3_600_000 + 60_000 })),
    ).toEqual({ alive: true });
  });

  it('a sink holding nothing is never stuck, however long since its last batch', () => {
    const idle = { holding: false, lastProgressAt: T0 };
    expect(evaluateLiveness(input({ sinkProgress: sink(idle), now: T0 + 10 * LIVENESS }))).toEqual({
      alive: true,
    });
  });

  it('a shard waiting for room in a full sink that still makes progress stays alive', () => {
    const now = T0 + 2 * LIVENESS;
    const lastReads = new Map([['shardId-000000000000', read(T0)]]);
    const ownedShards = ['shardId-000000000000'];
    // Slow but moving: it finished a batch a minute ago and is full again.
    const slow = { holding: true, full: true, lastProgressAt: now - 60_000 };
    expect(
      evaluateLiveness(input({ lastReads, ownedShards, sinkProgress: sink(slow), now })),
    ).toEqual({ alive: true });
    // The same full sink without progress is the stall: the sink is named.
    const stuck = { holding: true, full: true, lastProgressAt: T0 };
    expect(
      evaluateLiveness(input({ lastReads, ownedShards, sinkProgress: sink(stuck), now })),
    ).toEqual({
      alive: false,
      reason: 'sink(s) without progress for longer than 180000 ms: warehouse',
    });
    // A sink that holds events but has room does not hold the shard back.
    const roomy = { holding: true, full: false, lastProgressAt: now - 60_000 };
    expect(
      evaluateLiveness(input({ lastReads, ownedShards, sinkProgress: sink(roomy), now })),
    ).toEqual({
      alive: false,
      reason: 'shard(s) stalled longer than 180000 ms: shardId-000000000000',
    });
  });

  it("a real sink gate at its bound, given its buffer.maxAgeMs grace, still counts as full: its shards' wait is not a stall", () => {
    const metrics = createMetrics();
    const gate = CapacityGate.forSink('archive', 1000, metrics);
    setSinkProgressGrace(metrics, 'archive', 60_000);
    gate.add(1000);
    const now = Date.now();
    const stalled = {
      lastReads: new Map([['shardId-000000000000', read(now - LIVENESS - 1)]]),
      ownedShards: ['shardId-000000000000'],
      sinkProgress: metrics.sinkProgress,
      now,
    };
    expect(evaluateLiveness(input(stalled))).toEqual({ alive: true });
    gate.remove(1000);
    expect(evaluateLiveness(input(stalled)).alive).toBe(false);
  });

  it('an idle, caught-up shard (its GetRecords calls complete) stays alive', () => {
    // Nothing to read for hours: the loop still completes a call every idle interval.
    const now = T0 + 10 * LIVENESS;
    const lastReads = new Map([['shardId-000000000000', read(now - 1000)]]);
    expect(
      evaluateLiveness(input({ lastReads, ownedShards: ['shardId-000000000000'], now })),
    ).toEqual({ alive: true });
  });

  it('stays alive before the lease table sync, with shards waiting for parents, and for shards no longer owned', () => {
    const now = T0 + 10 * LIVENESS;
    const stale = new Map([['shardId-000000000000', read(T0)]]);
    const stuckSink = sink({ holding: true, lastProgressAt: T0 });
    // Startup: DynamoDB not reached yet, or no lease yet; a restart would not help.
    expect(
      evaluateLiveness(
        input({
          leasesSynced: false,
          lastReads: stale,
          ownedShards: ['shardId-000000000000'],
          sinkProgress: stuckSink,
          now,
        }),
      ),
    ).toEqual({ alive: true });
    // Owned but waiting for its parents: no read yet.
    expect(
      evaluateLiveness(input({ ownedShards: ['shardId-000000000001'], lastReads: stale, now })),
    ).toEqual({ alive: true });
    // Read long ago, but released since.
    expect(evaluateLiveness(input({ ownedShards: [], lastReads: stale, now }))).toEqual({
      alive: true,
    });
  });

  it('0 turns the check off: never fails liveness on a stall', () => {
    const now = T0 + 100 * LIVENESS;
    expect(
      evaluateLiveness(
        input({
          livenessStallAfterMs: 0,
          lastReads: new Map([['shardId-000000000000', read(T0)]]),
          ownedShards: ['shardId-000000000000'],
          sinkProgress: sink({ holding: true, lastProgressAt: T0 }),
          now,
        }),
      ),
    ).toEqual({ alive: true });
  });

  it('the threshold defaults to 3 x metrics.stallAfterMs; an explicit value (0 included) wins', () => {
    expect(livenessStallMs({ stallAfterMs: STALL, livenessStallAfterMs: null })).toBe(180_000);
    expect(livenessStallMs({ stallAfterMs: STALL, livenessStallAfterMs: 900_000 })).toBe(900_000);
    expect(livenessStallMs({ stallAfterMs: STALL, livenessStallAfterMs: 0 })).toBe(0);
  });
});
