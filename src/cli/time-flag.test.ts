import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { parseIsoTimeFlag } from './time-flag.js';

describe('an ISO-8601 time flag', () => {
  it('reads a time with its zone, Z or an offset', () => {
    for (const dateOnly of [false, true]) {
      expect(parseIsoTimeFlag('--at', '2026-01-31T10:00:00Z', { dateOnly })?.toISOString()).toBe(
        '2026-01-31T10:00:00.000Z',
      );
      expect(
        parseIsoTimeFlag('--at', '2026-01-31T10:00:00+01:00', { dateOnly })?.toISOString(),
      ).toBe('2026-01-31T09:00:00.000Z');
    }
  });

  it('refuses a time of day without a zone, naming the flag', () => {
    const parse = () => parseIsoTimeFlag('--at', '2026-01-31T10:00:00', { dateOnly: true });
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(
      "--at: '2026-01-31T10:00:00' has no time zone: end it in Z or an offset (+01:00)",
    );
  });

  it('refuses a time of day written with a space instead of T and no zone (read in the host zone)', () => {
    const parse = () => parseIsoTimeFlag('--since', '2026-01-31 10:00', { dateOnly: true });
    expect(parse).toThrow("--since: '2026-01-31 10:00' has no time zone");
  });

  it('takes a date alone (UTC midnight) only where asked to', () => {
    expect(parseIsoTimeFlag('--at', '2026-01-31', { dateOnly: true })?.toISOString()).toBe(
      '2026-01-31T00:00:00.000Z',
    );
    expect(parseIsoTimeFlag('--at', '2026-01-31', { dateOnly: false })).toBeUndefined();
  });

  it('is undefined for text that is not a time, for the command to name what else it takes', () => {
    for (const text of ['LATEST', '12345', '2026-13-45T00:00:00Z', 'yesterday']) {
      expect(parseIsoTimeFlag('--at', text, { dateOnly: true })).toBeUndefined();
    }
  });
});
