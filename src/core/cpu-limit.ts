import { readFileSync } from 'node:fs';

/**
 * The container's CPU limit in cores (a CFS quota: 1.5 = 150 ms per 100 ms), or null when it
 * has none (or none is visible). Node 20's os.availableParallelism() counts the cores the
 * process may be scheduled on, not its quota: a pod limited to 1 CPU on a 16-core node
 * would start 15 threads that share one core's time.
 */
export function containerCpuLimit(
  read: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): number | null {
  // cgroup v2: "<quota> <period>", or "max <period>" for none.
  const v2 = attempt(() => read('/sys/fs/cgroup/cpu.max').trim().split(/\s+/));
  if (v2) {
    const [quota, period] = v2;
    return quota === 'max' ? null : cores(Number(quota), Number(period));
  }
  // cgroup v1: a quota of -1 means none.
  const quota = attempt(() => Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us').trim()));
  const period = attempt(() => Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us').trim()));
  return quota === null || period === null ? null : cores(quota, period);
}

function cores(quota: number, period: number): number | null {
  return Number.isFinite(quota) && Number.isFinite(period) && quota > 0 && period > 0
    ? quota / period
    : null;
}

function attempt<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}
