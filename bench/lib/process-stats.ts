import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux build we run). */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system, all threads) a process has used so far; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  return cpuSecondsOf(`/proc/${pid}/stat`);
}

function cpuSecondsOf(statFile: string): number {
  try {
    const stat = readFileSync(statFile, 'utf8');
    // Fields after the parenthesized command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds the process's main thread (its JavaScript, and V8's work on that thread) has
 * used so far; 0 once it is gone. What is left of `cpuSeconds` ran on V8's helper threads
 * and libuv's pool (gzip): records/s end where the main thread is busy all the time.
 */
export function mainThreadCpuSeconds(pid: number): number {
  return cpuSecondsOf(`/proc/${pid}/task/${pid}/stat`);
}

/** Peak resident set size (VmHWM) of a process so far, in bytes; 0 once it is gone. */
export function peakRssBytes(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function mib(bytes: number): number {
  return bytes / (1024 * 1024);
}
