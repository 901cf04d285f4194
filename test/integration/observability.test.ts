import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createStream, putAll } from '../../src/demo/producer.js';
import { freePort, startS3rver } from '../../src/demo/emulators.js';
import { ProducerLoop } from '../support/producer-loop.js';
import {
  prometheusInstalled,
  promtool,
  startPrometheus,
  type RunningPrometheus,
} from '../support/prometheus.js';
import { startRelayProcess, writeConfig, type RelayProcess } from '../support/relay-process.js';
import { testRelayConfig } from '../support/relay-config.js';
import {
  createBucket,
  eventually,
  startTestStack,
  uniqueName,
  type TestStack,
} from '../support/stack.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DASHBOARD = join(ROOT, 'helm/kinesis-relay/files/grafana-dashboard.json');
const ALERTS = join(ROOT, 'helm/kinesis-relay/files/alerts.yaml');
const JOB = 'kinesis-relay';

interface DashboardTarget {
  readonly expr: string;
}
interface Dashboard {
  readonly panels: ReadonlyArray<{ title: string; targets?: DashboardTarget[] }>;
  readonly templating: { list: ReadonlyArray<{ name: string; type: string; definition?: string }> };
}
interface RuleFile {
  readonly groups: ReadonlyArray<{ rules: ReadonlyArray<{ alert: string; expr: string }> }>;
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const rules = parse(readFileSync(ALERTS, 'utf8')) as RuleFile;
const haveProm = prometheusInstalled();
if (!haveProm) {
  console.warn(
    'observability e2e: SKIPPED — prometheus/promtool not on PATH. Install Debian\'s "prometheus" package (.ci/install-prometheus.sh does it).',
  );
}

/** Metric selectors (name plus optional matchers) inside a PromQL expression. */
function selectorsIn(expr: string): string[] {
  const found = expr.matchAll(/\b((?:kinesis_relay|process)_[a-z0-9_]+|up)\b(\{[^}]*\})?/g);
  return [...new Set([...found].map((m) => `${m[1]}${m[2] ?? ''}`))];
}

/**
 * The whole monitoring path on real parts: a relay on the emulators with records flowing,
 * a real Prometheus scraping it with the alert rules loaded, and every dashboard and alert
 * expression run against what it scraped.
 */
describe.skipIf(!haveProm)('observability: a real Prometheus scrapes a running relay', () => {
  let test: TestStack;
  let relay: RelayProcess;
  let prometheus: RunningPrometheus;
  let producer: ProducerLoop;
  let metricsUrl = '';
  let restartedS3: Awaited<ReturnType<typeof startS3rver>> | undefined;
  const names = {
    stream: uniqueName('obs'),
    table: uniqueName('obs-leases'),
    bucket: uniqueName('obs-archive'),
  };

  beforeAll(async () => {
    test = await startTestStack();
    await createStream(test.clients.kinesis, names.stream, 4);
    await createBucket(test.clients, names.bucket);
    producer = new ProducerLoop(test.clients.kinesis, names.stream, 50, 200).start();
    // Bytes that are not JSON: decode failures, so the dead-letter series carry real counts.
    await putAll(
      test.clients.kinesis,
      names.stream,
      Array.from({ length: 5 }, (_, i) => ({
        partitionKey: `broken-${i}`,
        data: Buffer.from(`not json ${i}`),
      })),
    );
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}`;
    const deadLetterDir = mkdtempSync(join(tmpdir(), 'kinesis-relay-dead-letter-'));
    const base = testRelayConfig(names);
    const config = testRelayConfig(names, {
      // A short stall limit and a small in-flight bound, so an S3 outage stalls the shards
      // (backpressure) and /readyz says so within seconds, and /healthz a few seconds later.
      metrics: { port, host: '127.0.0.1', stallAfterMs: 5000, livenessStallAfterMs: 8000 },
      sinks: base.sinks.map((sink) => ({ ...sink, maxInFlightBytes: 64 * 1024 })),
      deadLetter: { type: 'directory', path: deadLetterDir },
    });
    relay = startRelayProcess(['run', '--config', writeConfig(config)]);
    await eventually(
      'the relay to be ready',
      async () => ((await fetch(`${metricsUrl}/readyz`).catch(() => null))?.ok ? true : undefined),
      120_000,
    );
    prometheus = await startPrometheus({
      job: JOB,
      target: `127.0.0.1:${port}`,
      ruleFiles: [ALERTS],
    });
    // Enough scrapes of flowing records for rate() windows and every shard's series.
    await eventually(
      'Prometheus to have scraped records from all 4 shards and delivered batches',
      async () => {
        const shards = await prometheus.query(
          `count(rate(kinesis_relay_records_total{stream="${names.stream}"}[10s]) > 0)`,
        );
        const delivered = await prometheus.query(
          'sum(increase(kinesis_relay_sink_records_total{outcome="delivered"}[10s])) > 0',
        );
        const deadLettered = await prometheus.query(
          'kinesis_relay_dead_letter_records_total{reason="decode_failed"} > 0',
        );
        const ok = shards[0]?.value[1] === '4' && delivered.length > 0 && deadLettered.length > 0;
        return ok ? true : undefined;
      },
      180_000,
      1000,
    );
  });

  afterAll(async () => {
    await producer?.stop();
    await prometheus?.stop();
    await restartedS3?.stop();
    if (relay && relay.child.exitCode === null && relay.child.signalCode === null) {
      relay.child.kill('SIGTERM');
      await relay.exited;
    }
    await test?.stop();
  });

  it('promtool accepts the alert rules and a scrape of /metrics; reports the scrape size', async () => {
    const checkRules = promtool(['check', 'rules', ALERTS]);
    expect(checkRules.output).toContain('SUCCESS');
    expect(checkRules.code).toBe(0);

    const scrape = await (await fetch(`${metricsUrl}/metrics`)).text();
    const checkMetrics = promtool(['check', 'metrics'], scrape);
    expect(checkMetrics.output).toBe('');
    expect(checkMetrics.code).toBe(0);

    const series = scrape.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    const relaySeries = series.filter((line) => line.startsWith('kinesis_relay_'));
    const families = scrape.split('\n').filter((line) => line.startsWith('# TYPE ')).length;
    console.log(
      `observability: a 4-shard relay with 1 sink exports ${series.length} series (${relaySeries.length} kinesis_relay_*, the rest process/Node.js defaults) in ${families} families, ${scrape.length} bytes per scrape`,
    );
    expect(relaySeries.some((line) => line.startsWith('kinesis_relay_build_info{'))).toBe(true);
  });

  it('the dashboard variables list the stream, its 4 shards and the sink', async () => {
    const values = async (name: string) => {
      const definition = dashboard.templating.list.find((v) => v.name === name)?.definition;
      const match = /^label_values\((.+),\s*([a-z_]+)\)$/.exec(definition ?? '');
      expect(match, `variable ${name}`).not.toBeNull();
      const selector = (match?.[1] ?? '').replace('$stream', names.stream);
      return prometheus.labelValues(match?.[2] ?? '', selector);
    };
    expect(await values('stream')).toContain(names.stream);
    expect(await values('shard')).toHaveLength(4);
    expect(await values('sink')).toEqual(['archive']);
  });

  it('every dashboard expression parses and returns data', async () => {
    const exprs = dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })),
    );
    expect(exprs.length).toBeGreaterThan(20);
    const empty: string[] = [];
    for (const { panel, expr } of exprs) {
      const concrete = expr
        .replaceAll('$__rate_interval', '15s')
        .replaceAll('$stream', names.stream)
        .replaceAll('$shard', '.*')
        .replaceAll('$sink', 'archive');
      expect(concrete, `${panel}: unsubstituted variable`).not.toContain('$');
      const result = await prometheus.query(concrete);
      if (result.length === 0) empty.push(`${panel}: ${concrete}`);
    }
    expect(empty).toEqual([]);
  });

  it('every alert expression parses, its selectors return series, and Prometheus evaluates the rules', async () => {
    const all = rules.groups.flatMap((group) => group.rules);
    expect(all.map((rule) => rule.alert).sort()).toEqual([
      'KinesisRelayCheckpointStalled',
      'KinesisRelayDeadLetterGrowth',
      'KinesisRelayLagHigh',
      'KinesisRelayNoLeasesOwned',
      'KinesisRelayRecordsTrimmed',
      'KinesisRelayShardStalled',
      'KinesisRelaySinkFailing',
      'KinesisRelaySinkGivingUp',
      'KinesisRelaySinkNoProgress',
      'KinesisRelayTargetDown',
    ]);
    const missing: string[] = [];
    for (const rule of all) {
      await prometheus.query(rule.expr); // throws when it does not parse
      const selectors = selectorsIn(rule.expr);
      expect(selectors.length, rule.alert).toBeGreaterThan(0);
      for (const selector of selectors) {
        if ((await prometheus.query(selector)).length === 0)
          missing.push(`${rule.alert}: ${selector}`);
      }
    }
    expect(missing).toEqual([]);

    const loaded = await eventually(
      'Prometheus to evaluate every rule',
      async () => {
        const response = await fetch(`${prometheus.url}/api/v1/rules`);
        const body = (await response.json()) as {
          data: { groups: Array<{ rules: Array<{ name: string; health: string }> }> };
        };
        const states = body.data.groups.flatMap((group) => group.rules);
        return states.length === all.length && states.every((r) => r.health === 'ok')
          ? states
          : undefined;
      },
      30_000,
    );
    expect(loaded).toHaveLength(all.length);
    // A healthy relay with leases held does not page anyone.
    const firing = await prometheus.query('ALERTS{alertstate="firing"}');
    expect(firing.map((s) => s.metric.alertname)).not.toContain('KinesisRelayNoLeasesOwned');
  });

  it('an S3 outage stalls the shards: /readyz names them, Prometheus sees the retries, /healthz names the stuck sink once it lasts; recovery makes it ready and alive again', async () => {
    const get = async (path: string) => {
      const response = await fetch(`${metricsUrl}${path}`);
      return { status: response.status, body: await response.text() };
    };
    const readyz = () => get('/readyz');
    expect((await readyz()).status).toBe(200);
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    const s3 = test.stack.s3;
    await s3.stop();
    const stalled = await eventually(
      '/readyz to report stalled shards',
      async () => {
        const answer = await readyz();
        return answer.status === 503 && answer.body.includes('stalled') ? answer : undefined;
      },
      120_000,
    );
    expect(stalled.body).toMatch(/not ready: shard\(s\) stalled longer than 5000 ms: shardId-/);
    await eventually(
      'Prometheus to see the sink retrying and a shard not read for over 5 s',
      async () => {
        const retrying = await prometheus.query(
          'sum by (sink) (rate(kinesis_relay_sink_retries_total[10s])) > 0',
        );
        const notRead = await prometheus.query('max(kinesis_relay_shard_read_age_seconds) > 5');
        return retrying.length > 0 && notRead.length > 0 ? true : undefined;
      },
      60_000,
    );
    // The shards wait on the full sink, which is the one stuck: it is named, they are not.
    const dead = await eventually(
      '/healthz to fail once the stall outlasts livenessStallAfterMs',
      async () => {
        const answer = await get('/healthz');
        return answer.status === 503 ? answer : undefined;
      },
      120_000,
    );
    expect(dead.body).toBe(
      'not alive: sink(s) without progress for longer than 8000 ms: archive\n',
    );

    restartedS3 = await startS3rver({ port: s3.port, directory: s3.directory });
    await eventually(
      '/readyz to be ready again after S3 came back',
      async () => ((await readyz()).status === 200 ? true : undefined),
      120_000,
    );
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
  });

  it('logs one JSON line per lease change and shard start/end, and stops cleanly', async () => {
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    const lines = relay
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map(
        (line) =>
          JSON.parse(line) as { msg: string; shardId?: string; outcome?: string; sink?: string },
      );
    const shardsWith = (msg: string) =>
      new Set(lines.filter((line) => line.msg === msg).map((line) => line.shardId)).size;
    expect(shardsWith('lease acquired')).toBe(4);
    expect(shardsWith('shard started')).toBe(4);
    expect(shardsWith('lease released')).toBe(4);
    const retries = lines.filter((line) => line.msg === 'batch write failed; retrying');
    expect(retries.length).toBeGreaterThan(0);
    expect(retries[0]).toMatchObject({ sink: 'archive', level: 40 });
    expect(
      lines.filter((line) => line.msg === 'shard consumer ended' && line.outcome === 'stopped'),
    ).toHaveLength(4);
  });
});
