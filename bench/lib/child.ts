import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

export interface BenchChild {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<number | string>;
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<number | string>;
}

export interface ChildOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Extra Node flags, such as --cpu-prof. */
  readonly nodeArgs?: readonly string[];
  /** What runs as `node` (default this Node): a memory cgroup's entry, say (memory-cgroup.ts). */
  readonly nodeExecutable?: string;
}

/** Runs a TypeScript entry point of this repository (bench/ scripts) through tsx. */
export function startTsChild(
  entry: string,
  args: readonly string[],
  options: ChildOptions = {},
): BenchChild {
  return startNodeChild(entry, args, {
    ...options,
    nodeArgs: [...(options.nodeArgs ?? []), '--import', 'tsx'],
  });
}

/** Runs a JavaScript entry point of this repository (the built relay, dist/main.js). */
export function startNodeChild(
  entry: string,
  args: readonly string[],
  options: ChildOptions = {},
): BenchChild {
  const child = spawn(
    options.nodeExecutable ?? process.execPath,
    [...(options.nodeArgs ?? []), join(REPO_ROOT, entry), ...args],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    // Only the tail matters (for error reports); a long run must not grow this forever.
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    child,
    pid: child.pid ?? 0,
    exited,
    output: () => output,
    stop: async (graceMs = 30_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
