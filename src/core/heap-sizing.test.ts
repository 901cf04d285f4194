import { describe, expect, it } from 'vitest';
import { FAST_COLLECTION_HEAP_LIMIT_BYTES, smallHeapWarning } from './heap-sizing.js';

const MIB = 1024 * 1024;

describe('smallHeapWarning', () => {
  it('says nothing without a container memory limit, whatever the heap limit', () => {
    expect(smallHeapWarning(null, 160 * MIB)).toBeNull();
  });

  it('says nothing when V8 was given the limit it collects at full speed with', () => {
    expect(smallHeapWarning(256 * MIB, FAST_COLLECTION_HEAP_LIMIT_BYTES)).toBeNull();
    expect(smallHeapWarning(256 * MIB, 4144 * MIB)).toBeNull();
  });

  it('names the heap limit and the option to set when Node sized V8 from a pod limit', () => {
    // What Node gives V8 in a 256 MiB memory cgroup without flags (measured: 259 MiB).
    const warning = smallHeapWarning(256 * MIB, 259 * MIB);
    expect(warning).toContain("V8's heap limit is 259 MiB");
    expect(warning).toContain('NODE_OPTIONS=--max-old-space-size=2048');
  });

  it('counts a heap capped by NODE_OPTIONS below the limit as small too', () => {
    expect(smallHeapWarning(1024 * MIB, 1024 * MIB)).toContain('1024 MiB');
  });
});
