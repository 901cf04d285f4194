import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/**
 * The functions with the most self time in each thread's .cpuprofile of the newest process
 * profiled into a directory (Node writes one file per thread, named
 * CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main thread), as
 * "share function file:line" lines under a heading per thread.
 */
export function summarizeProfile(directory: string, top: number): string {
  const files = readdirSync(directory)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => ({ name, path: join(directory, name), ...profileIds(name) }))
    .sort((a, b) => statSync(b.path).mtimeMs - statSync(a.path).mtimeMs);
  const newest = files[0];
  if (!newest) return '(no profile written)';
  return files
    .filter((file) => file.pid === newest.pid)
    .sort((a, b) => a.thread - b.thread)
    .map(
      (file) =>
        `${file.thread === 0 ? 'main thread' : `worker thread ${file.thread}`} (${file.name}):\n${selfTimes(file.path, top)}`,
    )
    .join('\n\n');
}

function profileIds(name: string): { readonly pid: string; readonly thread: number } {
  const parts = name.split('.');
  return { pid: parts[3] ?? '', thread: Number(parts[4] ?? 0) };
}

function selfTimes(path: string, top: number): string {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    const file = frame.url.includes('node_modules/')
      ? frame.url.slice(frame.url.lastIndexOf('node_modules/') + 13)
      : frame.url.slice(frame.url.lastIndexOf('/') + 1);
    const key = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + delta);
    total += delta;
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, time]) => `${((time / total) * 100).toFixed(1).padStart(5)}%  ${key}`)
    .join('\n');
}
