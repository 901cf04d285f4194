import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll } from 'vitest';

export interface RelayProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  /** Peak resident set size so far, in bytes (Linux VmHWM). */
  peakRssBytes(): number;
}

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'main.ts');

/**
 * Every relay process a test file started and that has not exited yet. A test whose
 * assertion throws before its `kill` (a waitFor... that timed out) left its relay running,
 * and a live child with piped output keeps the test worker from exiting: vitest then ends
 * the whole run with "close timed out after 10000ms", and the orphan keeps reading the
 * next file's emulators. So whatever is still running when the file ends is killed here.
 */
const running = new Set<ChildProcess>();

afterAll(() => stopRelayProcesses());

/** Kills every relay process still running (the test stack's stop calls this first). */
export async function stopRelayProcesses(): Promise<void> {
  const left = [...running];
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

export function writeConfig(config: object): string {
  const path = join(mkdtempSync(join(tmpdir(), 'kinesis-relay-config-')), 'relay.yaml');
  writeFileSync(path, stringify(config));
  return path;
}

/** Runs `kinesis-relay ARGS` as its own process, the way a user or Kubernetes would. */
export function startRelayProcess(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): RelayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...env, NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  return {
    child,
    output: () => output,
    exited,
    peakRssBytes: () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const match = /VmHWM:\s+(\d+) kB/.exec(status);
        return match ? Number(match[1]) * 1024 : 0;
      } catch {
        return 0;
      }
    },
  };
}

/** Runs a CLI command to completion and returns its exit code and output. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const relay = startRelayProcess(args, env);
  const code = await relay.exited;
  return { code, output: relay.output() };
}
