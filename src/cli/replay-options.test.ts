import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { parseReplayFlags } from './replay-options.js';

describe('dead-letter replay --since / --until', () => {
  it('reads times with their zone', () => {
    expect(parseReplayFlags({ since: '2026-12-06T08:00:00+01:00' }).filter.since).toEqual(
      new Date('2026-12-06T07:00:00Z'),
    );
  });

  it('a time of day without a zone is refused (it would be read in the host time zone)', () => {
    expect(() => parseReplayFlags({ since: '2026-12-06T08:00:00' })).toThrow(UsageError);
    expect(() => parseReplayFlags({ until: '2026-12-06T08:00' })).toThrow(/Z or an offset/);
  });

  it('--since after --until is refused (it would select nothing and exit 0)', () => {
    expect(() =>
      parseReplayFlags({ since: '2026-12-06T10:00:00Z', until: '2026-12-06T09:00:00Z' }),
    ).toThrow(/--since .* is after --until/);
  });
});
