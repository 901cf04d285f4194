import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';

/**
 * The `config` part of helm/kinesis-relay/values.schema.json, generated from the relay's
 * own zod schema so `helm install` rejects what `kinesis-relay check-config` would (typos,
 * wrong types, bad enums) and the two cannot drift. test/deploy/chart.test.ts fails when
 * the file is out of date; rewrite it with
 *
 *   npx tsx test/deploy/chart-config-schema.ts --write && npx prettier --write helm/kinesis-relay/values.schema.json
 */

export const VALUES_SCHEMA_PATH = fileURLToPath(
  new URL('../../helm/kinesis-relay/values.schema.json', import.meta.url),
);

type Node = { [key: string]: unknown };

/** `${VAR}` / `${VAR:-default}`: interpolated by the relay, so any leaf may be one. */
const ENV_REFERENCE: Node = {
  type: 'string',
  pattern: '^\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}$',
};

function isNode(value: unknown): value is Node {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A leaf other than a free-form string also accepts an environment reference. */
function allowEnvReferences(node: Node, key: string | undefined): Node {
  const out: Node = {};
  for (const [name, value] of Object.entries(node)) {
    // The pattern already says it (ISO times); validators differ on which formats they know.
    if (name === 'format' && 'pattern' in node) continue;
    if (name === 'properties' && isNode(value)) {
      out[name] = Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, isNode(v) ? allowEnvReferences(v, k) : v]),
      );
    } else if ((name === 'anyOf' || name === 'oneOf') && Array.isArray(value)) {
      out[name] = value.map((v: unknown) => (isNode(v) ? allowEnvReferences(v, key) : v));
    } else if (name === 'items' && isNode(value)) {
      out[name] = allowEnvReferences(value, undefined);
    } else {
      out[name] = value;
    }
  }
  const leaf = !('properties' in node) && !('items' in node) && !('anyOf' in node);
  const freeString = node.type === 'string' && Object.keys(node).length === 1;
  // `type` discriminates sinks and dead-letter destinations: it stays a literal.
  if (!leaf || freeString || key === 'type' || node.type === 'null') return out;
  const { default: fallback, ...constraints } = out;
  return {
    ...(fallback === undefined ? {} : { default: fallback }),
    anyOf: [constraints, ENV_REFERENCE],
  };
}

export function chartConfigSchema(): Node {
  const generated = z.toJSONSchema(configSchema, {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
  }) as Node;
  const { $schema: _dialect, ...schema } = generated;
  return {
    description:
      'The relay configuration (docs/configuration.md), rendered as relay.yaml. Generated from src/config/schema.ts by test/deploy/chart-config-schema.ts.',
    ...allowEnvReferences(schema, undefined),
  };
}

/** values.schema.json with its `config` property replaced by the generated one. */
export function valuesSchemaWithGeneratedConfig(text: string): string {
  const values = JSON.parse(text) as { properties: Node };
  values.properties.config = chartConfigSchema();
  return `${JSON.stringify(values, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  const current = readFileSync(VALUES_SCHEMA_PATH, 'utf8');
  writeFileSync(VALUES_SCHEMA_PATH, valuesSchemaWithGeneratedConfig(current));
  process.stdout.write(`wrote ${VALUES_SCHEMA_PATH}\n`);
}
