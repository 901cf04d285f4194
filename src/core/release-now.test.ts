import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { releaseNow } from './release-now.js';

describe('releaseNow', () => {
  it('frees a buffer the caller owns without waiting for the collector, and detaches it', async () => {
    const bytes = 32 * 1024 * 1024;
    const before = process.memoryUsage().arrayBuffers;
    const buffer = new Uint8Array(new ArrayBuffer(bytes)).fill(7);
    expect(process.memoryUsage().arrayBuffers - before).toBeGreaterThanOrEqual(bytes);
    releaseNow(buffer);
    expect(buffer.byteLength).toBe(0);
    // The dropped message is freed as its channel closes, on the next turns of the loop.
    for (
      let turn = 0;
      turn < 50 && process.memoryUsage().arrayBuffers - before >= bytes;
      turn += 1
    ) {
      await sleep(5);
    }
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(bytes);
  });

  it('leaves a view of part of a buffer alone (it may share it, as Node pools small Buffers)', () => {
    const pooled = Buffer.from('a small string');
    const whole = new Uint8Array(64);
    const part = whole.subarray(8, 16);
    releaseNow(pooled);
    releaseNow(part);
    expect(pooled.toString()).toBe('a small string');
    expect(part.byteLength).toBe(8);
    expect(whole.byteLength).toBe(64);
  });
});
