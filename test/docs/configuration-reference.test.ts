import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';

/**
 * docs/configuration.md against src/config/schema.ts, so neither drifts: every key the
 * schema accepts is documented, every documented key exists, and a default the reference
 * writes as a literal is the schema's default.
 *
 * How the reference is read: the first cell of each table row holds backticked key paths,
 * separated by `/` or `,`; a token without a dot after a dotted one is its sibling
 * (`buffer.maxRecords` / `maxBytes` is buffer.maxBytes). Rows under a heading that
 * mentions "sink" are keys of a `sinks` entry, under one that mentions "dead letter" keys
 * of `deadLetter`. Array items and union branches (the sink types, the dead-letter
 * types) share their parent's path.
 */

const DOC_PATH = new URL('../../docs/configuration.md', import.meta.url);

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  default?: unknown;
};

interface SchemaKey {
  /** Whether the key holds an object with keys of its own (documented through them). */
  readonly parent: boolean;
  readonly defaults: unknown[];
}

/** Every key path of the JSON Schema, array items and union branches flattened. */
function schemaKeys(root: JsonSchema): Map<string, SchemaKey> {
  const keys = new Map<string, { parent: boolean; defaults: unknown[] }>();
  // An object's default sets its keys too (a sink type whose `buffer` defaults differ from
  // the shared buffer schema's): those values are documented defaults as well.
  const inherited = new Map<string, unknown[]>();
  const inheritDefaults = (path: string, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    for (const [key, child] of Object.entries(value)) {
      const childPath = `${path}.${key}`;
      inherited.set(childPath, [...(inherited.get(childPath) ?? []), child]);
      inheritDefaults(childPath, child);
    }
  };
  const visit = (node: JsonSchema, path: string) => {
    for (const branch of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])]) {
      visit(branch, path);
    }
    if (node.items) visit(node.items, path);
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const childPath = path ? `${path}.${key}` : key;
      const entry = keys.get(childPath) ?? { parent: false, defaults: [] };
      if ('default' in child) {
        entry.defaults.push(child.default);
        inheritDefaults(childPath, child.default);
      }
      keys.set(childPath, entry);
      visit(child, childPath);
    }
    if (path && node.properties && Object.keys(node.properties).length > 0) {
      const entry = keys.get(path);
      if (entry) entry.parent = true;
    }
  };
  visit(root, '');
  for (const [path, values] of inherited) keys.get(path)?.defaults.push(...values);
  return keys;
}

interface DocumentedKey {
  readonly path: string;
  readonly defaultCell: string;
  /** Position of the key among the row's keys, to pair it with a `/`-separated default. */
  readonly index: number;
  readonly count: number;
  readonly rowText: string;
}

function sectionPrefix(heading: string): string {
  if (/sink/i.test(heading)) return 'sinks.';
  if (/dead[- ]?letter/i.test(heading)) return 'deadLetter.';
  return '';
}

function splitRow(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((cell) => cell.trim());
}

/** The key rows of every table after the "## Keys" heading. */
function documentedKeys(markdown: string): DocumentedKey[] {
  const out: DocumentedKey[] = [];
  let inKeys = false;
  let prefix = '';
  for (const line of markdown.split('\n')) {
    const heading = /^(#{2,4})\s+(.*)$/.exec(line);
    if (heading) {
      if (heading[1] === '##') inKeys = /^keys\b/i.test(heading[2]);
      prefix = heading[1] === '##' ? '' : sectionPrefix(heading[2]);
      continue;
    }
    if (!inKeys || !line.trim().startsWith('|')) continue;
    const [keyCell = '', defaultCell = ''] = splitRow(line);
    const tokens = [...keyCell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    if (tokens.length === 0) continue; // header and separator rows
    let parent = '';
    const paths = tokens.map((token) => {
      const full = token.includes('.') || parent === '' ? token : `${parent}.${token}`;
      parent = full.includes('.') ? full.slice(0, full.lastIndexOf('.')) : '';
      return `${prefix}${full}`;
    });
    paths.forEach((path, index) =>
      out.push({ path, defaultCell, index, count: paths.length, rowText: line }),
    );
  }
  return out;
}

/** The default cell's literal for one key, or undefined when it is prose. */
function documentedDefault(key: DocumentedKey): { value: unknown } | undefined {
  const literals = [...key.defaultCell.matchAll(/`([^`]*)`/g)].map((m) => m[1]);
  const prose = key.defaultCell.replace(/`[^`]*`/g, '').replace(/[\s/]|\([^)]*\)/g, '');
  if (prose !== '' || literals.length !== key.count) return undefined;
  const literal = literals[key.index];
  const size = /^(\d+) (KiB|MiB|GiB)$/.exec(literal);
  if (size)
    return { value: Number(size[1]) * 1024 ** (['KiB', 'MiB', 'GiB'].indexOf(size[2]) + 1) };
  if (literal === "''") return { value: '' };
  try {
    return { value: JSON.parse(literal) as unknown };
  } catch {
    return { value: literal };
  }
}

const jsonSchema = z.toJSONSchema(configSchema, {
  io: 'input',
  unrepresentable: 'any',
}) as JsonSchema;
const schema = schemaKeys(jsonSchema);
const documented = documentedKeys(readFileSync(DOC_PATH, 'utf8'));
const documentedPaths = new Set(documented.map((key) => key.path));

describe('docs/configuration.md against src/config/schema.ts', () => {
  it('reads a reference of the expected size (the parser found the tables)', () => {
    expect(schema.size).toBeGreaterThan(30);
    expect(documented.length).toBeGreaterThan(30);
    expect(documentedPaths).toContain('stream.initialPosition');
    expect(documentedPaths).toContain('sinks.buffer.maxBytes');
  });

  it('documents every key the schema accepts', () => {
    const rows = documented.map((key) => key.rowText);
    const undocumented = [...schema.entries()]
      .filter(([path, key]) => {
        if (documentedPaths.has(path)) return false;
        // An object documented through its keys (stream, leases, sinks.buffer ...).
        if (key.parent && [...documentedPaths].some((p) => p.startsWith(`${path}.`))) return false;
        // A key of an object whose own row spells it out (deadLetter: {type, bucket, ...}).
        const parent = path.slice(0, path.lastIndexOf('.'));
        const name = path.slice(path.lastIndexOf('.') + 1);
        const parentRow = documented.find((d) => d.path === parent)?.rowText;
        return !(parentRow !== undefined && new RegExp(`\\b${name}\\b`).test(parentRow));
      })
      .map(([path]) => path);
    expect(rows.length).toBeGreaterThan(0);
    expect(undocumented).toEqual([]);
  });

  it('documents no key the schema would reject', () => {
    expect([...documentedPaths].filter((path) => !schema.has(path))).toEqual([]);
  });

  it('writes each literal default as the schema has it', () => {
    const wrong: string[] = [];
    let compared = 0;
    for (const key of documented) {
      const doc = documentedDefault(key);
      const defaults = schema.get(key.path)?.defaults ?? [];
      if (!doc || defaults.length === 0) continue;
      // A null default often means "derived from another key" (leases.table: application).
      if (defaults.every((d) => d === null) && doc.value !== null) continue;
      compared += 1;
      if (!defaults.some((d) => JSON.stringify(d) === JSON.stringify(doc.value))) {
        wrong.push(
          `${key.path}: documented ${JSON.stringify(doc.value)}, schema ${JSON.stringify(defaults)}`,
        );
      }
    }
    expect(compared).toBeGreaterThan(15);
    expect(wrong).toEqual([]);
  });
});
