import { parse as parseYamlScalar } from 'yaml';

/** A value that was only a `${VAR}` and took a type other than text (a number, say). */
export interface TypedReference {
  readonly path: string;
  readonly reference: string;
  /** What YAML read in the variable's value: `a number`, `a boolean`, `null`. */
  readonly readAs: string;
}

/** A `${VAR:-default}` whose default holds another reference (not supported). */
export interface NestedReference {
  readonly path: string;
  readonly variable: string;
}

/** A `${VAR}` that has no value and no `:-default`. */
export interface MissingVariable {
  readonly path: string;
  readonly variable: string;
  /** Set, to the empty string (which counts as unset, as `${VAR:-default}` does in sh). */
  readonly empty: boolean;
}

/** `${A:-${B}}`: sh nests these, this reader does not (its default would end at the first `}`). */
const NESTED_IN_DEFAULT = /\$\{([A-Za-z_][A-Za-z0-9_]*):-[^}]*\$\{/g;
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/**
 * A string the YAML file quoted: a `${VAR}` in it stays text whatever the variable holds
 * (`signingSecret: "${SECRET}"` with SECRET=123456 is the text 123456, not a number), as
 * the same value written literally in quotes would be. `load.ts` marks them while parsing.
 */
export class QuotedText {
  constructor(readonly text: string) {}
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of a parsed YAML tree. Working on
 * the tree rather than the file text lets errors name the key, and keeps a value with
 * YAML syntax in it from changing the document's structure.
 */
export function interpolateEnv(
  tree: unknown,
  env: NodeJS.ProcessEnv,
): {
  value: unknown;
  missing: MissingVariable[];
  typed: TypedReference[];
  nested: NestedReference[];
} {
  const missing: MissingVariable[] = [];
  const nested: NestedReference[] = [];
  const typed: TypedReference[] = [];
  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string' || node instanceof QuotedText) {
      const text = typeof node === 'string' ? node : node.text;
      for (const match of text.matchAll(NESTED_IN_DEFAULT)) {
        nested.push({ path, variable: match[1] ?? '' });
      }
    }
    if (typeof node === 'string') {
      const value = interpolateString(node, path, env, missing);
      if (typeof value !== 'string') typed.push({ path, reference: node, readAs: kindOf(value) });
      return value;
    }
    if (node instanceof QuotedText) return interpolateText(node.text, path, env, missing);
    if (Array.isArray(node)) return node.map((item, index) => walk(item, joinPath(path, index)));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([key, value]) => [key, walk(value, joinPath(path, key))]),
      );
    }
    return node;
  };
  return { value: walk(tree, ''), missing, typed, nested };
}

function interpolateString(
  text: string,
  path: string,
  env: NodeJS.ProcessEnv,
  missing: MissingVariable[],
): unknown {
  if (!text.includes('${')) return text;
  const replaced = interpolateText(text, path, env, missing);
  // `port: ${METRICS_PORT:-9464}` should become the number 9464, as if written literally.
  return WHOLE_REFERENCE.test(text) ? scalarFromText(replaced) : replaced;
}

function interpolateText(
  text: string,
  path: string,
  env: NodeJS.ProcessEnv,
  missing: MissingVariable[],
): string {
  return text.replace(REFERENCE, (_match, name: string, fallback?: string) => {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    missing.push({ path, variable: name, empty: value === '' });
    return '';
  });
}

/** Whether a YAML string is only one `${VAR}` or `${VAR:-default}` (it may then take a type). */
export function isWholeReference(text: string): boolean {
  return WHOLE_REFERENCE.test(text);
}

function scalarFromText(text: string): unknown {
  if (text === '') return text;
  const value: unknown = parseYamlScalar(text);
  return typeof value === 'number' || typeof value === 'boolean' || value === null ? value : text;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return typeof value === 'number' ? 'a number' : 'a boolean';
}

export function joinPath(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}
