import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createDecoder } from '../../src/decode/index.js';
import {
  get,
  hasTool,
  isObject,
  readText,
  readYaml,
  repoPath,
  run,
  type JsonObject,
} from './helpers.js';

/**
 * deploy/docker-compose.yml cannot be started here (no Docker engine). These tests check
 * that its parts agree with each other and with the relay: the config validates, the init
 * script creates what the config names, Prometheus scrapes the relay's port, Grafana gets
 * the dashboard, and every path the compose file mounts exists.
 */

const compose = readYaml('deploy/docker-compose.yml') as JsonObject;
const services = compose.services as Record<string, JsonObject>;
const relay = services.relay;
const relayText = readText('deploy/localstack/relay.yaml');
const relayConfig = readYaml('deploy/localstack/relay.yaml') as JsonObject;
const init = readText('deploy/localstack/init-aws.sh');
const prometheus = readYaml('deploy/prometheus/prometheus.yml') as JsonObject;
const composeDir = repoPath('deploy');

/** "host:container[:ro]" volume entries of a service, host paths resolved from deploy/. */
function mounts(service: JsonObject): { host: string; container: string }[] {
  return ((service.volumes as string[] | undefined) ?? []).map((entry) => {
    const [host, container] = entry.split(':');
    return { host: resolve(composeDir, host), container };
  });
}

/** The value of `${NAME:-default}` in the compose file, as compose resolves it with NAME unset. */
function composeDefault(value: string): string {
  return value.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');
}

function initVariable(name: string): string {
  const match = new RegExp(`^${name}="\\$\\{[A-Z_]+:-([^}]*)\\}"`, 'm').exec(init);
  if (!match) throw new Error(`init-aws.sh does not define ${name}`);
  return match[1];
}

describe('deploy/docker-compose.yml', () => {
  it('runs LocalStack, the relay, Prometheus and Grafana', () => {
    expect(Object.keys(services).sort()).toEqual(['grafana', 'localstack', 'prometheus', 'relay']);
    expect(String(get(services.localstack, 'environment.SERVICES')).split(',').sort()).toEqual([
      'dynamodb',
      'kinesis',
      's3',
    ]);
  });

  it('builds the relay from the repository Dockerfile', () => {
    const context = resolve(composeDir, String(get(relay, 'build.context')));
    expect(context).toBe(repoPath());
    expect(statSync(resolve(context, String(get(relay, 'build.dockerfile')))).isFile()).toBe(true);
  });

  it('points the AWS SDK at LocalStack through its standard endpoint variable', () => {
    const env = relay.environment as JsonObject;
    expect(env.AWS_ENDPOINT_URL).toBe('http://localstack:4566');
    expect(env.AWS_REGION).toBe(get(relayConfig, 'aws.region'));
    expect(get(services.localstack, 'ports.0')).toMatch(/:4566:4566$/);
  });

  it('starts the relay once the init script has created its resources', () => {
    expect(get(relay, 'depends_on.localstack.condition')).toBe('service_healthy');
    const healthcheck = get(services.localstack, 'healthcheck.test') as string[];
    const marker = /^MARKER=(\S+)$/m.exec(init)?.[1];
    expect(marker).toBeDefined();
    expect(healthcheck).toEqual(['CMD', 'test', '-f', marker]);
    expect(init.trimEnd().split('\n').slice(-2).join('\n')).toContain(`touch "$MARKER"`);
    const hook = mounts(services.localstack).find((m) =>
      m.container.startsWith('/etc/localstack/init/ready.d/'),
    );
    expect(hook?.host).toBe(repoPath('deploy/localstack/init-aws.sh'));
  });

  it('mounts the relay config where the image command reads it', () => {
    const config = mounts(relay).find((m) => m.container === '/etc/kinesis-relay/relay.yaml');
    expect(config?.host).toBe(repoPath('deploy/localstack/relay.yaml'));
    expect(readText('Dockerfile')).toContain(
      'CMD ["run", "--config", "/etc/kinesis-relay/relay.yaml"]',
    );
  });

  it('hardens the relay as the chart does and gives it its shutdown time', () => {
    expect(relay.read_only).toBe(true);
    expect(relay.cap_drop).toEqual(['ALL']);
    expect(relay.security_opt).toContain('no-new-privileges:true');
    const grace = Number(/^(\d+)s$/.exec(String(relay.stop_grace_period))?.[1]);
    expect(grace).toBeGreaterThan(Number(get(relayConfig, 'shutdown.timeoutMs')) / 1000);
  });

  it('publishes ports on the loopback interface only', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const port of (service.ports as string[] | undefined) ?? []) {
        expect({ name, port: port.split(':')[0] }).toEqual({ name, port: '127.0.0.1' });
      }
    }
  });

  it('mounts only files that exist', () => {
    const all = Object.values(services).flatMap(mounts);
    expect(all.length).toBeGreaterThanOrEqual(6);
    for (const { host } of all)
      expect(statSync(host).isFile() || statSync(host).isDirectory()).toBe(true);
  });
});

describe('deploy/localstack', () => {
  it('relay.yaml is a configuration the relay accepts, with the compose environment', () => {
    const env = Object.fromEntries(
      Object.entries(relay.environment as JsonObject).map(([k, v]) => [
        k,
        composeDefault(String(v)),
      ]),
    );
    const config = parseConfig(relayText, 'deploy/localstack/relay.yaml', env);
    expect(config.stream?.name).toBe('engagement-events');
    expect(config.metrics.port).toBe(9464);
  });

  it('init-aws.sh creates the stream, lease table and buckets the config names', () => {
    expect(initVariable('STREAM')).toBe(get(relayConfig, 'stream.name'));
    expect(initVariable('LEASE_TABLE')).toBe(
      get(relayConfig, 'leases.table') ?? relayConfig.application,
    );
    const buckets = initVariable('BUCKETS').split(' ');
    for (const sink of relayConfig.sinks as JsonObject[]) {
      if (sink.type === 's3') expect(buckets).toContain(sink.bucket);
    }
    expect(buckets).toContain(get(relayConfig, 'deadLetter.bucket'));
    // The KCL lease table shape: one string hash key, leaseKey; on-demand capacity.
    expect(init).toContain('--attribute-definitions AttributeName=leaseKey,AttributeType=S');
    expect(init).toContain('--key-schema AttributeName=leaseKey,KeyType=HASH');
    expect(init).toContain('--billing-mode PAY_PER_REQUEST');
  });

  it("init-aws.sh's sample events decode with the configured decoder (none dead-lettered)", () => {
    const config = parseConfig(relayText, 'relay.yaml', { AIRSHIP_APP_KEY: 'local-app-key' });
    const decoder = createDecoder(config.decode.format);
    const now = new Date().toISOString();
    const samples = [...init.matchAll(/^put_event \S+ '(.*)'$/gm)].map((m) =>
      (m[1] ?? '').replaceAll(`'"$now"'`, now),
    );
    expect(samples).toHaveLength(5);
    const formats = samples.map((json, index) => {
      const result = decoder.decode({
        streamName: config.stream?.name ?? '',
        shardId: 'shardId-000000000000',
        sequenceNumber: String(1000 + index),
        subSequenceNumber: 0,
        partitionKey: 'sample',
        aggregated: false,
        approximateArrivalTimestamp: new Date(),
        data: Buffer.from(json),
      });
      if (!result.ok) throw new Error(`sample ${index + 1} does not decode: ${result.error}`);
      return result.events.map((event) => event.format);
    });
    expect(formats.flat()).toEqual(['airship', 'airship', 'airship', 'pinpoint', 'json']);
  });

  it("the README's walk-through names what the compose file and init script create", () => {
    const readme = readText('README.md');
    const section = readme.slice(readme.indexOf('## A local stack with LocalStack'));
    for (const name of [
      initVariable('STREAM'),
      initVariable('LEASE_TABLE'),
      ...initVariable('BUCKETS').split(' '),
      'deploy/docker-compose.yml',
      'deploy/localstack/init-aws.sh',
      'deploy/localstack/relay.yaml',
    ]) {
      expect(section).toContain(name);
    }
    const published = Object.values(services).flatMap((service) =>
      ((service.ports as string[] | undefined) ?? []).map((p) => p.split(':')[1]),
    );
    for (const port of ['9464', '9090', '3000']) {
      expect(published).toContain(port);
      expect(section).toContain(`localhost:${port}`);
    }
  });

  it('init-aws.sh is an executable bash script that fails fast', () => {
    expect(init.startsWith('#!/bin/bash\n')).toBe(true);
    expect(init).toContain('set -euo pipefail');
    expect(statSync(repoPath('deploy/localstack/init-aws.sh')).mode & 0o111).not.toBe(0);
    const syntax = run('bash', ['-n', repoPath('deploy/localstack/init-aws.sh')]);
    expect(syntax.stderr).toBe('');
    expect(syntax.status).toBe(0);
  });

  it('init-aws.sh passes shellcheck', (context) => {
    if (!hasTool('shellcheck'))
      context.skip('shellcheck is not installed (apt-get install shellcheck)');
    const result = run('shellcheck', [repoPath('deploy/localstack/init-aws.sh')]);
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('deploy/prometheus and deploy/grafana', () => {
  it('Prometheus scrapes the relay metrics port and loads the mounted rules', () => {
    const job = (prometheus.scrape_configs as JsonObject[]).find(
      (j) => j.job_name === 'kinesis-relay',
    );
    expect(get(job, 'static_configs.0.targets')).toEqual([
      `relay:${String(get(relayConfig, 'metrics.port'))}`,
    ]);
    const ruleGlob = String(get(prometheus, 'rule_files.0'));
    const rules = mounts(services.prometheus).find((m) =>
      m.container.startsWith(dirname(ruleGlob)),
    );
    expect(rules?.host).toBe(repoPath('helm/kinesis-relay/files/alerts.yaml'));
    expect(rules?.container.endsWith(ruleGlob.slice(ruleGlob.lastIndexOf('*') + 1))).toBe(true);
  });

  it('promtool accepts the Prometheus config and the alert rules', (context) => {
    if (!hasTool('promtool'))
      context.skip('promtool is not installed (apt-get install prometheus)');
    const config = run('promtool', [
      'check',
      'config',
      '--syntax-only',
      repoPath('deploy/prometheus/prometheus.yml'),
    ]);
    expect(config.status).toBe(0);
    const rules = run('promtool', [
      'check',
      'rules',
      repoPath('helm/kinesis-relay/files/alerts.yaml'),
    ]);
    expect(rules.stdout).toContain('SUCCESS');
    expect(rules.status).toBe(0);
  });

  it('Grafana gets the Prometheus data source and the dashboard directory', () => {
    const datasources = readYaml(
      'deploy/grafana/provisioning/datasources/prometheus.yaml',
    ) as JsonObject;
    const source = get(datasources, 'datasources.0') as JsonObject;
    expect(source).toMatchObject({
      uid: 'prometheus',
      type: 'prometheus',
      url: 'http://prometheus:9090',
    });
    const providers = readYaml(
      'deploy/grafana/provisioning/dashboards/kinesis-relay.yaml',
    ) as JsonObject;
    const path = String(get(providers, 'providers.0.options.path'));
    const dashboard = mounts(services.grafana).find((m) => m.container.startsWith(`${path}/`));
    expect(dashboard?.host).toBe(repoPath('helm/kinesis-relay/files/grafana-dashboard.json'));
    const provisioning = mounts(services.grafana).find(
      (m) => m.container === '/etc/grafana/provisioning',
    );
    expect(provisioning?.host).toBe(repoPath('deploy/grafana/provisioning'));
  });
});

describe('dashboard and alert rules', () => {
  const metricsSource = readText('src/observability/metrics.ts');
  const exported = new Set([...metricsSource.matchAll(/name:\s*'([a-z0-9_]+)'/g)].map((m) => m[1]));
  const histograms = new Set(
    [...metricsSource.matchAll(/new Histogram\(\{\s*name:\s*'([a-z0-9_]+)'/g)].map((m) => m[1]),
  );
  const dashboard = JSON.parse(
    readText('helm/kinesis-relay/files/grafana-dashboard.json'),
  ) as JsonObject;
  const rules = readYaml('helm/kinesis-relay/files/alerts.yaml') as JsonObject;
  const expressions = [
    ...(dashboard.panels as JsonObject[]).flatMap((p) =>
      (p.targets as JsonObject[]).map((t) => String(t.expr)),
    ),
    ...(rules.groups as JsonObject[]).flatMap((g) =>
      (g.rules as JsonObject[]).map((r) => String(r.expr)),
    ),
  ];

  it('query only metrics the relay exports', () => {
    expect(exported.size).toBeGreaterThan(8);
    const referenced = new Set(
      expressions.flatMap((e) => [...e.matchAll(/\bkinesis_relay_[a-z0-9_]+/g)].map((m) => m[0])),
    );
    expect(referenced.size).toBeGreaterThan(8);
    const unknown = [...referenced].filter((name) => {
      if (exported.has(name)) return false;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return !(histograms.has(base) && base !== name);
    });
    expect(unknown).toEqual([]);
  });

  it('the dashboard uses its data source variable and a 24-column grid', () => {
    const variable = (get(dashboard, 'templating.list') as JsonObject[]).find(
      (v) => v.type === 'datasource',
    );
    expect(variable?.name).toBe('datasource');
    const ids = new Set<number>();
    for (const panel of dashboard.panels as JsonObject[]) {
      expect(get(panel, 'datasource.uid')).toBe('${datasource}');
      const grid = panel.gridPos as { x: number; w: number };
      expect(grid.x + grid.w).toBeLessThanOrEqual(24);
      ids.add(panel.id as number);
    }
    expect(ids.size).toBe((dashboard.panels as JsonObject[]).length);
  });

  it('every alert has a severity and a summary', () => {
    for (const group of rules.groups as JsonObject[]) {
      for (const rule of group.rules as JsonObject[]) {
        expect(rule.alert).toMatch(/^KinesisRelay[A-Za-z]+$/);
        expect(['warning', 'critical']).toContain(get(rule, 'labels.severity'));
        expect(isObject(rule.annotations) && typeof rule.annotations.summary === 'string').toBe(
          true,
        );
      }
    }
  });
});
