import { describe, expect, it } from 'vitest';
import { chooseReceiver, liveWorkerLoads } from './release-receiver.js';
import { leaseFixture } from '../../test/support/lease-fixture.js';

const lease = leaseFixture;

describe('the worker a released lease goes to', () => {
  it('is the least loaded live worker, never the releasing one, nor one whose lease expired', () => {
    const leases = [
      lease('a', 'me'),
      lease('b', 'me'),
      lease('c', 'busy'),
      lease('d', 'busy'),
      lease('e', 'busy'),
      lease('f', 'light'),
      lease('g', 'light'),
      lease('h', 'dead'),
      lease('i', null),
      // Finished leases are renewed by nobody: neither load nor a sign of death.
      lease('j', 'light', { checkpoint: 'SHARD_END' }),
      lease('k', 'light', { checkpoint: 'SHARD_END' }),
      // Being handed over from busy to light: light's load; expired, it would be busy's death.
      lease('l', 'light', { checkpointOwner: 'busy' }),
    ];
    const loads = liveWorkerLoads(leases, new Set(['h']), 'me');
    expect(Object.fromEntries(loads)).toEqual({ busy: 3, light: 3 });
    expect(Object.fromEntries(liveWorkerLoads(leases, new Set(['l']), 'me'))).toEqual({
      light: 3,
      dead: 1,
    });

    const spread = new Map([
      ['w1', 5],
      ['w2', 2],
      ['w3', 4],
    ]);
    expect(chooseReceiver(spread, null)).toBe('w2');
  });

  it('spreads several releases: each goes to the least loaded once the last is counted', () => {
    const loads = new Map([
      ['w1', 64],
      ['w2', 60],
      ['w3', 62],
    ]);
    const given: string[] = [];
    for (let n = 0; n < 8; n += 1) {
      const receiver = chooseReceiver(loads, null, () => 0);
      if (receiver === null) throw new Error('no receiver');
      given.push(receiver);
      loads.set(receiver, (loads.get(receiver) ?? 0) + 1);
    }
    // The first ones fill the least loaded worker up to the next: 60 -> 62 -> 64, then 65.
    expect(given.slice(0, 2)).toEqual(['w2', 'w2']);
    const final = [...loads.values()];
    expect(Math.max(...final) - Math.min(...final)).toBeLessThanOrEqual(1);
    expect(final.reduce((a, b) => a + b)).toBe(64 + 60 + 62 + 8);
  });

  it('breaks ties at random, skips workers at maxLeasesPerWorker, and is null with none left', () => {
    const tied = new Map([
      ['w1', 3],
      ['w2', 3],
    ]);
    expect(chooseReceiver(tied, null, () => 0)).toBe('w1');
    expect(chooseReceiver(tied, null, () => 0.99)).toBe('w2');
    expect(
      chooseReceiver(
        new Map([
          ['atMax', 4],
          ['below', 3],
        ]),
        4,
      ),
    ).toBe('below');
    expect(chooseReceiver(new Map([['atMax', 4]]), 4)).toBeNull();
    expect(chooseReceiver(new Map(), null)).toBeNull();
  });
});
