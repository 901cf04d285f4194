import { parse as parseYamlScalar } from 'yaml';

/** A `${VAR}` that has no value and no `:-default`. */
export interface MissingVariable {
  readonly path: string;
  readonly variable: string;
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of a parsed YAML tree. Working on
 * the tree rather than the file text lets errors name the key, and keeps a value with
 * YAML syntax in it from changing the document's structure.
 */
export function interpolateEnv(
  tree: unknown,
  env: NodeJS.ProcessEnv,
): { value: unknown; missing: MissingVariable[] } {
  const missing: MissingVariable[] = [];
  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') return interpolateString(node, path, env, missing);
    if (Array.isArray(node)) return node.map((item, index) => walk(item, joinPath(path, index)));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([key, value]) => [key, walk(value, joinPath(path, key))]),
      );
    }
    return node;
  };
  return { value: walk(tree, ''), missing };
}

function interpolateString(
  text: string,
  path: string,
  env: NodeJS.ProcessEnv,
  missing: MissingVariable[],
): unknown {
  if (!text.includes('${')) return text;
  const replaced = text.replace(REFERENCE, (_match, name: string, fallback?: string) => {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    missing.push({ path, variable: name });
    return '';
  });
  // `port: ${METRICS_PORT:-9464}` should become the number 9464, as if written literally.
  return WHOLE_REFERENCE.test(text) ? scalarFromText(replaced) : replaced;
}

function scalarFromText(text: string): unknown {
  if (text === '') return text;
  const value: unknown = parseYamlScalar(text);
  return typeof value === 'number' || typeof value === 'boolean' || value === null ? value : text;
}

export function joinPath(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}
