import { parse as parseYamlScalar } from 'yaml';

/**
 * A value that was only a `${VAR}` whose text YAML reads as another type (a number, a
 * boolean, null). Which of the two the key gets is decided against the schema (load.ts):
 * the one written (quoted: the text; plain: the typed value) unless the key wants the other.
 */
export interface WholeReference {
  /** The keys down to the value, for putting the other form in its place. */
  readonly keys: readonly (string | number)[];
  readonly path: string;
  readonly text: string;
  readonly typed: unknown;
  readonly quoted: boolean;
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
 * A string the YAML file quoted: a `${VAR}` in it is text first, whatever the variable
 * holds (`signingSecret: "${SECRET}"` with SECRET=123456 is the text 123456), as the same
 * value written literally in quotes would be. `load.ts` marks them while parsing.
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
  whole: WholeReference[];
  nested: NestedReference[];
} {
  const missing: MissingVariable[] = [];
  const nested: NestedReference[] = [];
  const whole: WholeReference[] = [];
  const walk = (node: unknown, keys: readonly (string | number)[]): unknown => {
    const path = keys.reduce<string>((acc, key) => joinPath(acc, key), '');
    if (typeof node === 'string' || node instanceof QuotedText) {
      const quoted = node instanceof QuotedText;
      const source = quoted ? node.text : node;
      for (const match of source.matchAll(NESTED_IN_DEFAULT)) {
        nested.push({ path, variable: match[1] ?? '' });
      }
      if (!source.includes('${')) return source;
      const text = interpolateText(source, path, env, missing);
      if (!WHOLE_REFERENCE.test(source)) return text;
      // `port: ${METRICS_PORT:-9464}` should become the number 9464, as if written literally.
      const typed = scalarFromText(text);
      if (typeof typed === 'string') return text;
      whole.push({ keys, path, text, typed, quoted });
      return quoted ? text : typed;
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...keys, index]));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([key, value]) => [key, walk(value, [...keys, key])]),
      );
    }
    return node;
  };
  return { value: walk(tree, []), missing, whole, nested };
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

export function joinPath(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}
