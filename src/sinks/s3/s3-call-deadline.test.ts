import { describe, expect, it } from 'vitest';
import { MAX_TIMEOUT_MS } from '../../core/backoff.js';
import { s3CallDeadlineMs } from './s3-call-deadline.js';

describe('s3CallDeadlineMs', () => {
  it('gives a call without a body callTimeoutMs, and a 5 MiB part 320 s more', () => {
    expect(s3CallDeadlineMs(120_000, 0)).toBe(120_000);
    expect(s3CallDeadlineMs(120_000, 5 * 1024 * 1024)).toBe(440_000);
  });

  it('never passes the longest timer Node keeps (a longer one fires after 1 ms)', () => {
    expect(s3CallDeadlineMs(3_000_000_000, 0)).toBe(MAX_TIMEOUT_MS);
  });
});
