import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from './child.js';

/**
 * Builds the relay as it was at a git ref (its src/ and tsconfig files, compiled with
 * this checkout's compiler) into bench/.baseline/dist, inside the repository so the build
 * resolves the same node_modules. Returns the dist directory relative to the repository,
 * so one bench run measures before and after side by side.
 */
export function buildBaseline(ref: string): string {
  const directory = join(REPO_ROOT, 'bench', '.baseline');
  rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  const archive = execFileSync(
    'git',
    ['archive', ref, 'src', 'tsconfig.json', 'tsconfig.build.json'],
    {
      cwd: REPO_ROOT,
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  execFileSync('tar', ['-x', '-C', directory], { input: archive });
  execFileSync(
    process.execPath,
    [
      join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(directory, 'tsconfig.build.json'),
    ],
    { cwd: directory, stdio: 'inherit' },
  );
  return relative(REPO_ROOT, join(directory, 'dist'));
}
