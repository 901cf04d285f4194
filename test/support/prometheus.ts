import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../src/demo/emulators.js';
import { eventually } from './stack.js';

/** True when Debian's prometheus package (prometheus + promtool) is on the PATH. */
export function prometheusInstalled(): boolean {
  const ok = (bin: string) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
  return ok('prometheus') && ok('promtool');
}

/** Runs promtool with the given arguments (and stdin); returns its exit code and output. */
export function promtool(args: string[], input?: string): { code: number; output: string } {
  const result = spawnSync('promtool', args, { input, encoding: 'utf8' });
  return { code: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface RunningPrometheus {
  readonly url: string;
  /** Runs an instant query; throws with Prometheus's error when it does not parse. */
  query(expr: string): Promise<PromSample[]>;
  /** Values of a label, optionally restricted to series matching a selector. */
  labelValues(label: string, match?: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * A real Prometheus in a temp directory, scraping `target` every second and evaluating
 * `ruleFiles` every second.
 */
export async function startPrometheus(options: {
  job: string;
  target: string;
  ruleFiles: string[];
}): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'kinesis-relay-prometheus-'));
  const configPath = join(dir, 'prometheus.yml');
  writeFileSync(
    configPath,
    stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: options.ruleFiles,
      scrape_configs: [{ job_name: options.job, static_configs: [{ targets: [options.target] }] }],
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? response.status}`);
    return body.data;
  };
  try {
    await eventually(
      `prometheus to be ready (${stderr.slice(-300)})`,
      async () => ((await fetch(`${url}/-/ready`)).ok ? true : undefined),
      60_000,
    );
  } catch (error) {
    // Not ready in time: stop it rather than leave it running past the test.
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return {
    url,
    query: async (expr) =>
      (
        await api<{ result: PromSample[] }>(
          `/api/v1/query?query=${encodeURIComponent(expr)}&time=${Date.now() / 1000}`,
        )
      ).result,
    labelValues: (label, match) =>
      api<string[]>(
        `/api/v1/label/${label}/values${match ? `?match[]=${encodeURIComponent(match)}` : ''}`,
      ),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
