import { describe, expect, it } from 'vitest';
import { formatAge } from './shard-lag.js';

describe('formatAge', () => {
  it('reads as seconds, minutes, then hours', () => {
    expect(formatAge(-50)).toBe('0s');
    expect(formatAge(1_499)).toBe('1s');
    expect(formatAge(119_000)).toBe('119s');
    expect(formatAge(120_000)).toBe('2m');
    expect(formatAge(119 * 60_000)).toBe('119m');
    expect(formatAge(3 * 3_600_000)).toBe('3.0h');
  });
});
