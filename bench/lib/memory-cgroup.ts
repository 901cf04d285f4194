import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * A memory cgroup of its own, as a pod's container gets one: processes started through
 * `node` run inside it. Node reads the limit of the cgroup it runs in (libuv's constrained
 * memory) and sizes V8's heap from it exactly as in a pod. Without a cgroup namespace the
 * relay's own reading of /sys/fs/cgroup sees the host's root instead, so its event budget
 * is the 32 MiB default, which is also what a 256 MiB pod derives.
 */
export interface MemoryCgroup {
  readonly limitBytes: number;
  /** An executable to use as `node`: it joins the cgroup, then execs this Node. */
  readonly node: string;
  /** Times the kernel killed a process of the cgroup for memory (0 where not reported). */
  oomKills(): number;
  remove(): void;
}

/**
 * Creates one under cgroup v1's memory hierarchy or, on cgroup v2, beside this process's
 * own cgroup; null where neither is writable (a container without privileges, say).
 */
export function createMemoryCgroup(limitBytes: number): MemoryCgroup | null {
  const name = `kinesis-relay-bench-${randomBytes(4).toString('hex')}`;
  return cgroupV1(name, limitBytes) ?? cgroupV2(name, limitBytes);
}

function cgroupV1(name: string, limitBytes: number): MemoryCgroup | null {
  const directory = join('/sys/fs/cgroup/memory', name);
  if (!attempt(() => mkdirSync(directory))) return null;
  if (!attempt(() => writeFileSync(join(directory, 'memory.limit_in_bytes'), `${limitBytes}`))) {
    attempt(() => rmdirSync(directory));
    return null;
  }
  // "oom_kill N" is in memory.oom_control on kernels since 4.13.
  return made(directory, limitBytes, 'memory.oom_control');
}

function cgroupV2(name: string, limitBytes: number): MemoryCgroup | null {
  const own = /^0::(.*)$/m.exec(readText('/proc/self/cgroup') ?? '')?.[1];
  if (own === undefined) return null;
  // A sibling of this process's cgroup (v2 puts processes in leaves only), or a child of
  // the root, which may hold processes and children both.
  const parent = own === '/' ? '/sys/fs/cgroup' : join('/sys/fs/cgroup', own, '..');
  const directory = join(parent, name);
  if (!attempt(() => mkdirSync(directory))) return null;
  if (!attempt(() => writeFileSync(join(directory, 'memory.max'), `${limitBytes}`))) {
    attempt(() => rmdirSync(directory));
    return null;
  }
  return made(directory, limitBytes, 'memory.events');
}

function made(directory: string, limitBytes: number, eventsFile: string): MemoryCgroup {
  const node = join(mkdtempSync(join(tmpdir(), 'kinesis-relay-bench-cgroup-')), 'node');
  writeFileSync(
    node,
    `#!/bin/sh\necho $$ > '${join(directory, 'cgroup.procs')}'\nexec '${process.execPath}' "$@"\n`,
  );
  chmodSync(node, 0o755);
  return {
    limitBytes,
    node,
    oomKills: () =>
      Number(/^oom_kill (\d+)$/m.exec(readText(join(directory, eventsFile)) ?? '')?.[1] ?? 0),
    // Fails while a process is still in it; the bench's relays have all exited by then.
    remove: () => void attempt(() => rmdirSync(directory)),
  };
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function attempt(action: () => void): boolean {
  try {
    action();
    return true;
  } catch {
    return false;
  }
}
