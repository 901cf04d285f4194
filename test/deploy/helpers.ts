import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

/** Shared by the deployment tests: paths, file loading and optional tools. */

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const chartDir = join(repoRoot, 'helm/kinesis-relay');

export function repoPath(...parts: string[]): string {
  return join(repoRoot, ...parts);
}

export function readText(...parts: string[]): string {
  return readFileSync(repoPath(...parts), 'utf8');
}

export function readYaml(...parts: string[]): unknown {
  return parseYaml(readText(...parts));
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Every document of a multi-document YAML file, failing on the first parse error. */
export function readManifests(...parts: string[]): JsonObject[] {
  const documents = parseAllDocuments(readText(...parts));
  const manifests: JsonObject[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) throw document.errors[0];
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    if (!isObject(value)) throw new Error(`a document of ${parts.join('/')} is not a mapping`);
    manifests.push(value);
  }
  return manifests;
}

export function findManifest(manifests: JsonObject[], kind: string, name?: string): JsonObject {
  const found = manifests.find(
    (m) => m.kind === kind && (name === undefined || get(m, 'metadata.name') === name),
  );
  if (!found) throw new Error(`no ${kind}${name ? ` named ${name}` : ''} in the manifests`);
  return found;
}

/** `get(obj, 'spec.template.spec')`; numeric segments index arrays. */
export function get(value: unknown, path: string): unknown {
  let node: unknown = value;
  for (const key of path.split('.')) {
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isObject(node)) node = node[key];
    else return undefined;
  }
  return node;
}

export function listFiles(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path, suffix));
    else if (entry.name.endsWith(suffix)) out.push(path);
  }
  return out.sort();
}

/** Whether a command-line tool answers `--version` (or the given probe arguments). */
export function hasTool(command: string, probe: string[] = ['--version']): boolean {
  const result = spawnSync(command, probe, { encoding: 'utf8', timeout: 20_000 });
  return result.error === undefined && result.status === 0;
}

export function run(
  command: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    input: options.input,
    env: options.env ?? process.env,
    timeout: options.timeoutMs ?? 60_000,
    cwd: repoRoot,
  });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/**
 * Imports a package that the project may not have installed (an optional checker), or
 * returns null. The specifier is a variable so the type checker does not require it.
 */
export async function importOptional(specifier: string): Promise<Record<string, unknown> | null> {
  try {
    return (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    if (
      code === 'ERR_MODULE_NOT_FOUND' ||
      code === 'MODULE_NOT_FOUND' ||
      /Cannot find (module|package)|Failed to load url|Failed to resolve/.test(message)
    ) {
      return null;
    }
    throw error;
  }
}

export function fileExists(...parts: string[]): boolean {
  return existsSync(repoPath(...parts));
}
