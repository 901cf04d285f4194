import { builtinModules } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startHttpServer } from '../../src/observability/http-server.js';
import { importOptional, readText, repoPath, type JsonObject } from './helpers.js';

/**
 * The Dockerfile cannot be built here (no Docker engine), so its properties are checked
 * instruction by instruction, it is linted with dockerfile-utils when that is installed,
 * and the image's premise (production dependencies are enough to run `kinesis-relay run`)
 * is checked on the source's static import graph.
 */

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

interface Stage {
  readonly from: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

/** Instructions with line continuations joined, comments and parser directives dropped. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let buffer = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (buffer === '' && (line === '' || line.startsWith('#'))) return;
    if (buffer !== '' && line.startsWith('#')) return; // comment inside a continuation
    if (buffer === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1)} `;
      return;
    }
    buffer += line;
    const match = /^(\S+)\s*(.*)$/s.exec(buffer);
    if (match)
      instructions.push({ keyword: match[1].toUpperCase(), args: match[2], line: startLine });
    buffer = '';
  });
  return instructions;
}

function stagesOf(instructions: Instruction[]): { args: Map<string, string>; stages: Stage[] } {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.split(/\s+/);
      const from = image.replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_, a: string, b: string) => args.get(a ?? b) ?? '',
      );
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [key, value] = instruction.args.split('=');
      args.set(key.trim(), (value ?? '').trim());
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { args, stages };
}

const text = readText('Dockerfile');
const instructions = parseDockerfile(text);
const { args, stages } = stagesOf(instructions);
const runtime = stages[stages.length - 1];
const build = stages.find((s) => s.name === 'build');
const of = (stage: Stage | undefined, keyword: string) =>
  (stage?.instructions ?? []).filter((i) => i.keyword === keyword);
const execForm = (instruction: Instruction | undefined): string[] =>
  JSON.parse(instruction?.args ?? 'null') as string[];
/** The exec form after the HEALTHCHECK options (`--interval=... CMD [...]`). */
const healthcheckCommand = (): string[] =>
  JSON.parse(
    (of(runtime, 'HEALTHCHECK').at(-1)?.args ?? '').replace(/^.*?CMD\s+/s, ''),
  ) as string[];

describe('Dockerfile', () => {
  it('is multi-stage: a build stage and a runtime stage, both on Node 24 slim', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(args.get('NODE_IMAGE')).toMatch(/^node:24(\.\d+)*-[a-z]+-slim(@sha256:[a-f0-9]{64})?$/);
    for (const stage of stages) expect(stage.from).toBe(args.get('NODE_IMAGE'));
  });

  it('builds with npm ci && npm run build in the build stage', () => {
    const runs = of(build, 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
  });

  it('installs production dependencies only in the runtime stage and copies dist/ from the build', () => {
    const runs = of(runtime, 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm (run|install)\b/.test(r))).toBe(false);
    const copies = of(runtime, 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=build /src/dist ./dist');
    expect(copies.some((c) => /\bsrc\b/.test(c) && !c.startsWith('--from'))).toBe(false);
  });

  it('runs as a non-root numeric user', () => {
    const users = of(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1].args;
    const [uid, gid] = user.split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    expect(gid === undefined || Number(gid) > 0).toBe(true);
    // Nothing after the USER switches back to root.
    const after = runtime.instructions.filter((i) => i.line > users[users.length - 1].line);
    expect(after.filter((i) => i.keyword === 'RUN' || i.keyword === 'USER')).toEqual([]);
    // The chart's default securityContext runs the same user.
    const values = parseYaml(readText('helm/kinesis-relay/values.yaml')) as JsonObject;
    expect((values.podSecurityContext as JsonObject).runAsUser).toBe(Number(uid));
  });

  it('runs tini as PID 1 in front of the relay, with the documented command', () => {
    const entrypoint = execForm(of(runtime, 'ENTRYPOINT').at(-1));
    expect(entrypoint.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    expect(of(runtime, 'RUN').some((i) => /apt-get install .*\btini\b/.test(i.args))).toBe(true);
    expect(entrypoint[2]).toBe('kinesis-relay');
    expect(execForm(of(runtime, 'CMD').at(-1))).toEqual([
      'run',
      '--config',
      '/etc/kinesis-relay/relay.yaml',
    ]);
    // The kinesis-relay wrapper execs node on the package's bin entry, so tini's child is node.
    const bin = (JSON.parse(readText('package.json')) as { bin: Record<string, string> }).bin;
    expect(text).toContain(`exec node --enable-source-maps /app/${bin['kinesis-relay']} "$@"`);
  });

  it('builds the entry point that package.json and the image run (src/main.ts -> dist/main.js)', () => {
    const tsconfig = JSON.parse(readText('tsconfig.build.json')) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    expect(existsSync(repoPath('src/main.ts'))).toBe(true);
  });

  it('bakes in no secrets: no secret-looking ENV or ARG, no credential files copied', () => {
    const secretName = /SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|CREDENTIAL|ACCESS_KEY|API_KEY|AUTH/i;
    const declared = instructions.flatMap((i) => {
      if (i.keyword === 'ARG') return [i.args.split('=')[0].trim()];
      if (i.keyword !== 'ENV') return [];
      return [...i.args.matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]);
    });
    expect(declared.length).toBeGreaterThan(0);
    expect(declared.filter((name) => secretName.test(name))).toEqual([]);
    expect(text).not.toMatch(/AKIA[0-9A-Z]{16}/);
    const copied = instructions
      .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
      .map((i) => i.args);
    expect(copied.filter((c) => /\.env|\.npmrc|\.aws|credentials|id_rsa/.test(c))).toEqual([]);
  });

  it('declares a health check on /healthz and exposes the default metrics port', () => {
    const healthcheck = of(runtime, 'HEALTHCHECK').at(-1)?.args ?? '';
    expect(healthcheck).toContain('/healthz');
    const values = parseYaml(readText('helm/kinesis-relay/values.yaml')) as JsonObject;
    const port = ((values.config as JsonObject).metrics as JsonObject).port;
    // http://127.0.0.1:<port>/healthz, or bash's /dev/tcp/127.0.0.1/<port> asking for /healthz.
    expect(healthcheck).toMatch(new RegExp(`127\\.0\\.0\\.1[:/]${String(port)}\\b`));
    expect(of(runtime, 'EXPOSE').map((i) => i.args)).toEqual([String(port)]);
  });

  it('the health check starts no second node in the container (~50 MiB RSS in the relay memory limit)', () => {
    // Every 30 s: a `node -e fetch(...)` beside a relay near its limit could get the relay
    // OOM-killed (the kernel kills the biggest process in the cgroup).
    const command = healthcheckCommand();
    expect(command[0]).not.toBe('node');
    expect(command.join(' ')).not.toMatch(/\bnode\b/);
  });

  it('the health check passes on a relay answering /healthz and fails when nothing answers', async () => {
    const command = healthcheckCommand();
    const { server, port } = await startHttpServer(
      new Registry(),
      { readiness: () => ({ ready: true }) },
      0,
      '127.0.0.1',
    );
    // The image checks the default port; here the free one the test server took.
    const onPort = (p: number) => command.map((part) => part.replaceAll('9464', String(p)));
    const exitCode = (argv: string[]) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: 'ignore' });
        child.on('close', (code) => resolve(code));
      });
    try {
      expect(await exitCode(onPort(port))).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await exitCode(onPort(port))).not.toBe(0);
  });

  it('keeps apt lean: no recommends, package lists removed in the same layer', () => {
    for (const run of instructions.filter(
      (i) => i.keyword === 'RUN' && /apt-get install/.test(i.args),
    )) {
      expect(run.args).toContain('--no-install-recommends');
      expect(run.args).toContain('rm -rf /var/lib/apt/lists/*');
    }
  });

  it('sends only what the build needs: every COPY source passes .dockerignore', () => {
    const ignore = readText('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = ignore
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).replace(/\/$/, ''));
    const sources = instructions
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(allowed).toContain(source.replace(/^\.\//, ''));
      expect(existsSync(repoPath(source))).toBe(true);
    }
    expect(allowed).not.toContain('node_modules');
    expect(allowed).not.toContain('.git');
  });

  it('passes the dockerfile-utils linter', async (context) => {
    const linter = await importOptional('dockerfile-utils');
    if (!linter)
      context.skip('dockerfile-utils is not installed (npm i -D dockerfile-utils); not linted');
    const validate = linter?.validate as (
      content: string,
    ) => { message: string; range: { start: { line: number } } }[];
    const problems = validate(text).map((p) => `line ${p.range.start.line + 1}: ${p.message}`);
    expect(problems).toEqual([]);
  });
});

describe('runtime image dependencies', () => {
  const pkg = JSON.parse(readText('package.json')) as { dependencies?: Record<string, string> };
  const runtimeDeps = new Set(Object.keys(pkg.dependencies ?? {}));
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

  /** Modules reachable from src/main.ts through static imports, with their bare imports. */
  function staticGraph(entry: string): Map<string, string[]> {
    const graph = new Map<string, string[]>();
    const queue = [entry];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (graph.has(file)) continue;
      const source = readFileSync(file, 'utf8');
      const specifiers = [
        ...source.matchAll(
          /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm,
        ),
      ].map((m) => m[1]);
      const bare: string[] = [];
      for (const specifier of specifiers) {
        if (specifier.startsWith('.')) {
          const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
          queue.push(existsSync(target) ? target : join(target, 'index.ts'));
        } else {
          bare.push(specifier);
        }
      }
      graph.set(file, bare);
    }
    return graph;
  }

  it('needs only production dependencies to run (npm ci --omit=dev)', () => {
    const graph = staticGraph(repoPath('src/main.ts'));
    expect(graph.size).toBeGreaterThan(5);
    const missing: string[] = [];
    for (const [file, specifiers] of graph) {
      for (const specifier of specifiers) {
        const name = specifier.startsWith('@')
          ? specifier.split('/').slice(0, 2).join('/')
          : specifier.split('/')[0];
        if (!builtins.has(specifier) && !runtimeDeps.has(name)) {
          missing.push(`${file.slice(repoPath().length + 1)} imports ${specifier}`);
        }
      }
    }
    // A devDependency here breaks the image; load it lazily (await import) or make it a dependency.
    expect(missing).toEqual([]);
  });
});
