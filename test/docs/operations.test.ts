import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseCheckpointTarget } from '../../src/cli/checkpoint-command.js';

/**
 * docs/operations.md names alerts, metrics and CLI forms that live elsewhere; these checks
 * fail when one of them is renamed without the runbook following.
 */

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const operations = read('docs/operations.md');

function alertNames(): string[] {
  const rules = parseYaml(read('helm/kinesis-relay/files/alerts.yaml')) as {
    groups: Array<{ rules: Array<{ alert?: string }> }>;
  };
  return rules.groups.flatMap((group) => group.rules.flatMap((rule) => rule.alert ?? []));
}

/** The `###` headings of the "## Alerts" section. */
function documentedAlerts(): string[] {
  const section = operations.split(/^## /m).find((part) => part.startsWith('Alerts'));
  return [...(section ?? '').matchAll(/^### (\S+)\s*$/gm)].map((m) => m[1] ?? '');
}

describe('docs/operations.md', () => {
  it('explains every alert of files/alerts.yaml, and no alert that does not exist', () => {
    const alerts = alertNames();
    expect(alerts.length).toBeGreaterThan(0);
    expect(documentedAlerts().sort()).toEqual([...alerts].sort());
  });

  it('names only metrics the relay exports', () => {
    const exported = new Set(
      [...read('src/observability/metrics.ts').matchAll(/name: '(kinesis_relay_\w+)'/g)].map(
        (m) => m[1],
      ),
    );
    const named = [...new Set([...operations.matchAll(/\b(kinesis_relay_\w+)/g)].map((m) => m[1]))];
    expect(named.length).toBeGreaterThan(3);
    expect(named.filter((name) => !exported.has(name))).toEqual([]);
  });

  it('shows checkpoint set forms the CLI accepts', () => {
    expect(operations).toContain('kinesis-relay checkpoint set --shard');
    for (const example of ['TRIM_HORIZON', 'LATEST', '2026-11-20T06:00:00Z', '4950/3']) {
      expect(() => parseCheckpointTarget(example)).not.toThrow();
    }
    expect(parseCheckpointTarget('2026-11-20T06:00:00Z').checkpoint).toBe('AT_TIMESTAMP');
    const main = read('src/main.ts');
    for (const flag of ['--shard <id>', '--to <position>', '--force']) expect(main).toContain(flag);
  });
});
