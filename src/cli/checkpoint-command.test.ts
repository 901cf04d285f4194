import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { parseCheckpointTarget } from './checkpoint-command.js';

describe('checkpoint set --to', () => {
  const now = new Date('2026-12-06T10:00:00Z');

  it('reads the sentinels, a sequence number with its sub-sequence, and a time with its zone', () => {
    expect(parseCheckpointTarget('LATEST', now)).toEqual({ checkpoint: 'LATEST' });
    expect(parseCheckpointTarget('4950/3', now)).toEqual({
      checkpoint: { sequenceNumber: '4950', subSequenceNumber: 3 },
    });
    expect(parseCheckpointTarget('2026-12-06T08:00:00+01:00', now)).toEqual({
      checkpoint: 'AT_TIMESTAMP',
      timestamp: new Date('2026-12-06T07:00:00Z'),
    });
  });

  it('a time in the future is refused (every record until then would be skipped)', () => {
    expect(() => parseCheckpointTarget('2027-12-06T08:00:00Z', now)).toThrow(UsageError);
    expect(() => parseCheckpointTarget('2027-12-06T08:00:00Z', now)).toThrow(/in the future/);
  });

  it('a time without a zone is refused (it would be read in the host time zone)', () => {
    expect(() => parseCheckpointTarget('2026-12-06T08:00:00', now)).toThrow(UsageError);
    expect(() => parseCheckpointTarget('2026-12-06T08:00:00', now)).toThrow(/Z or an offset/);
  });
});
