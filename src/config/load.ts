import { existsSync, readFileSync } from 'node:fs';
import { isScalar, parseDocument, visit, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { UsageError } from '../core/errors.js';
import {
  QuotedText,
  interpolateEnv,
  isWholeReference,
  joinPath,
  type WholeReference,
} from './interpolate.js';
import { configSchema, type RelayConfig } from './schema.js';

export const DEFAULT_CONFIG_PATH = 'config/relay.yaml';

/** A config that does not validate: every problem names its key and the reason. */
export class ConfigError extends UsageError {
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super(`invalid configuration in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** `--config`, then `$KINESIS_RELAY_CONFIG`, then `config/relay.yaml`. */
export function resolveConfigPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? env.KINESIS_RELAY_CONFIG ?? DEFAULT_CONFIG_PATH;
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): RelayConfig {
  if (!existsSync(path)) {
    throw new UsageError(
      `config file ${path} does not exist (use --config FILE or set KINESIS_RELAY_CONFIG)`,
    );
  }
  return parseConfig(readFileSync(path, 'utf8'), path, env);
}

export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv): RelayConfig {
  let tree: unknown;
  try {
    tree = parseYamlMarkingQuotedReferences(text);
  } catch (error) {
    // The parser's message quotes the offending line after its position; that line may
    // hold a secret written in the file, and this message is printed and logged.
    const reason =
      error instanceof YAMLParseError
        ? (error.message.split('\n')[0] ?? '').replace(/:$/, '')
        : String(error);
    throw new ConfigError(source, [`not valid YAML: ${reason}`]);
  }
  return validateConfig(tree, source, env);
}

/**
 * The YAML as a plain tree, with each quoted value that is one `${VAR}` wrapped in
 * `QuotedText`, so interpolation keeps it text (quoting is the way to say "a string").
 */
function parseYamlMarkingQuotedReferences(text: string): unknown {
  const document = parseDocument(text);
  const [error] = document.errors;
  if (error) throw error;
  visit(document, {
    Scalar(key, node) {
      if (key === 'key' || !isScalar(node)) return;
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      if (quoted && typeof node.value === 'string' && isWholeReference(node.value)) {
        node.value = new QuotedText(node.value);
      }
    },
  });
  return document.toJS();
}

export function validateConfig(tree: unknown, source: string, env: NodeJS.ProcessEnv): RelayConfig {
  const { value, missing, whole, nested } = interpolateEnv(tree, env);
  let result = configSchema.safeParse(value);
  // A `${VAR}` alone is text or a number/boolean/null as YAML reads it: where the key wants
  // the other form (a secret of digits, a port in a quoted flow-style reference), use it.
  if (!result.success) {
    const swapped = otherFormWhereWanted(value, result.error.issues, whole);
    if (swapped !== value) result = configSchema.safeParse(swapped);
  }
  const schemaProblems = result.success ? [] : result.error.issues.flatMap(describeIssue);
  const nestedProblems = nested.map(
    (n) =>
      `${n.path}: a \${...} inside the :-default of \${${n.variable}} is not supported: give the default as text`,
  );
  // A nested reference's default is cut short at its first `}`: that problem alone is the one.
  const nestedPaths = new Set(nested.map((n) => n.path));
  const envProblems = missing
    .filter((m) => !nestedPaths.has(m.path))
    .map(
      (m) =>
        `${m.path}: environment variable ${m.variable} is ${m.empty ? 'empty' : 'not set'} and has no :-default`,
    );
  const problems = [...nestedProblems, ...envProblems, ...schemaProblems];
  if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
  return result.data;
}

/**
 * The tree with each whole reference the schema refused given in its other form (text for
 * typed, typed for text) where that form is accepted at its key; the same tree when there
 * is none. Any issue at the reference's key counts, not only `invalid_type`: a key that is a
 * union ("auto" or a number) reports `invalid_union`, one with a check on its value another
 * code. A swap that does not clear its key is undone, so a bad value keeps its own message.
 */
function otherFormWhereWanted(
  tree: unknown,
  issues: readonly z.core.$ZodIssue[],
  whole: readonly WholeReference[],
): unknown {
  const refused = issuePaths(issues);
  const candidates = whole.filter((reference) => refused.has(pathKey(reference.keys)));
  if (candidates.length === 0) return tree;
  const swapped = withOtherForm(tree, candidates);
  const retried = configSchema.safeParse(swapped);
  if (retried.success) return swapped;
  const stillRefused = issuePaths(retried.error.issues);
  const helped = candidates.filter((reference) => !stillRefused.has(pathKey(reference.keys)));
  if (helped.length === candidates.length) return swapped;
  return helped.length === 0 ? tree : withOtherForm(tree, helped);
}

function withOtherForm(tree: unknown, references: readonly WholeReference[]): unknown {
  const copy: unknown = structuredClone(tree);
  for (const reference of references) {
    setAt(copy, reference.keys, reference.quoted ? reference.typed : reference.text);
  }
  return copy;
}

/** The keys the issues are at, a union's branches' issues included. */
function issuePaths(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[] = []): Set<string> {
  const paths = new Set<string>();
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    paths.add(pathKey(path));
    if (issue.code === 'invalid_union') {
      for (const branch of issue.errors) for (const p of issuePaths(branch, path)) paths.add(p);
    }
  }
  return paths;
}

function pathKey(keys: readonly PropertyKey[]): string {
  return keys.map(String).join('.');
}

function setAt(tree: unknown, keys: readonly (string | number)[], value: unknown): void {
  const parent = keys
    .slice(0, -1)
    .reduce<unknown>(
      (node, key) =>
        node !== null && typeof node === 'object'
          ? (node as Record<string, unknown>)[key]
          : undefined,
      tree,
    );
  const last = keys.at(-1);
  if (parent !== null && typeof parent === 'object' && last !== undefined) {
    (parent as Record<string, unknown>)[last] = value;
  }
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  const path = issue.path.reduce<string>((acc, key) => joinPath(acc, String(key)), '');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${joinPath(path, key)}: unknown key`);
  }
  if (issue.code === 'invalid_union') {
    // A sink of a known type: report the branch that matches its type, not every branch.
    // A union of plain values ("auto" or a number) has its own message: the branches' issues
    // are at the key itself, and the first alone ('expected "auto"') would mislead.
    const branch = issue.errors.find(
      (errors) =>
        errors.some((e) => e.path.length > 0) && !errors.some((e) => e.path[0] === 'type'),
    );
    if (branch) return branch.flatMap((inner) => describeIssue(prefixed(inner, issue.path)));
  }
  return [`${path === '' ? '(top level)' : path}: ${issue.message}`];
}

function prefixed(issue: z.core.$ZodIssue, prefix: PropertyKey[]): z.core.$ZodIssue {
  return { ...issue, path: [...prefix, ...issue.path] };
}
