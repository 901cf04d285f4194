import { describe, expect, it } from 'vitest';
import { isolationBudget, isolationRanges } from './redshift-sink.js';

describe('isolating the row a load failed on', () => {
  it('loads the named row alone and the rows around it apart; halves when no row is named', () => {
    expect(isolationRanges(10, 4)).toEqual([
      [0, 3],
      [3, 4],
      [4, 10],
    ]);
    expect(isolationRanges(10, 1)).toEqual([
      [0, 1],
      [1, 10],
    ]);
    expect(isolationRanges(10, 10)).toEqual([
      [0, 9],
      [9, 10],
    ]);
    // A line outside the part (a multi-line header, a bad hint) is ignored: halves.
    for (const line of [undefined, 0, 11, 2.5]) {
      expect(isolationRanges(9, line)).toEqual([
        [0, 5],
        [5, 9],
      ]);
    }
  });

  it('gives a 50,000-row batch enough failed loads to isolate a few rows by halving, not one per row', () => {
    const halvings = Math.ceil(Math.log2(50_000));
    expect(isolationBudget(50_000)).toBeGreaterThanOrEqual(3 * halvings);
    expect(isolationBudget(50_000)).toBeLessThan(100);
  });
});
