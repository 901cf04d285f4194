import { describe, expect, it } from 'vitest';
import { laneIndex } from './webhook-sink.js';

describe('laneIndex', () => {
  it('puts one partition key always in the same lane, and spreads many keys over all lanes', () => {
    expect(laneIndex('device-42', 4)).toBe(laneIndex('device-42', 4));
    const counts = [0, 0, 0, 0];
    for (let n = 0; n < 4000; n += 1) counts[laneIndex(`device-${n}`, 4)]! += 1;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(laneIndex('anything', 1)).toBe(0);
  });
});
