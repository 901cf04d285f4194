import { describe, expect, it } from 'vitest';
import { isObject, readText, type Json } from './helpers.js';

/**
 * The Grafana dashboard's queries, read as text: the per-shard series carry `stream` as
 * well as `shard` (with `streams:` two streams may both have a shardId-000000000000), so
 * every per-shard panel must keep them apart and follow the Stream variable.
 * test/integration/observability.test.ts runs every expression against a real Prometheus.
 */

const PER_SHARD = [
  'kinesis_relay_millis_behind_latest',
  'kinesis_relay_iterator_age_seconds',
  'kinesis_relay_records_total',
  'kinesis_relay_bytes_total',
  'kinesis_relay_getrecords_throttles_total',
  'kinesis_relay_checkpoint_trimmed_total',
  'kinesis_relay_checkpoint_age_seconds',
  'kinesis_relay_shard_read_age_seconds',
];

interface Target {
  readonly panel: string;
  readonly expr: string;
  readonly legend: string;
}

function targets(node: Json, panel = ''): Target[] {
  if (Array.isArray(node)) return node.flatMap((child) => targets(child, panel));
  if (!isObject(node)) return [];
  const title = typeof node.title === 'string' ? node.title : panel;
  const own =
    typeof node.expr === 'string'
      ? [{ panel, expr: node.expr, legend: String(node.legendFormat ?? '') }]
      : [];
  return [
    ...own,
    ...Object.entries(node).flatMap(([key, child]) =>
      key === 'expr' ? [] : targets(child, title),
    ),
  ];
}

const dashboard = JSON.parse(readText('helm/kinesis-relay/files/grafana-dashboard.json')) as Json;

describe('grafana-dashboard.json', () => {
  it('a per-shard panel of two streams with equal shard ids keeps them apart and follows $stream', () => {
    const perShard = targets(dashboard).filter(({ expr }) =>
      PER_SHARD.some((name) => expr.includes(name)),
    );
    expect(perShard.length).toBeGreaterThan(5);
    const wrong = perShard.filter(({ expr, legend }) => {
      const grouped = /by \(([^)]*)\)/
        .exec(expr)?.[1]
        ?.split(',')
        .map((label) => label.trim());
      const splitsShards = grouped?.includes('shard') ?? false;
      const keepsStream = !splitsShards || (grouped?.includes('stream') ?? false);
      const legendNamesStream = !splitsShards || legend === '' || legend.includes('{{stream}}');
      return !expr.includes('stream=~"$stream"') || !keepsStream || !legendNamesStream;
    });
    expect(wrong.map(({ panel, expr }) => `${panel}: ${expr}`)).toEqual([]);
  });
});
