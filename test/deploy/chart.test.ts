import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import { chartConfigSchema } from './chart-config-schema.js';
import {
  chartDir,
  findManifest,
  get,
  hasTool,
  importOptional,
  isObject,
  listFiles,
  readManifests,
  readText,
  readYaml,
  repoPath,
  run,
  type JsonObject,
} from './helpers.js';

/**
 * The Helm chart without Helm (it cannot be installed on the test machines): the values
 * against their schema, the relay's own config validation, the templates' references, and
 * the hand-rendered manifests in fixtures/ against the values and the Kubernetes schemas.
 */

const schema = JSON.parse(readText('helm/kinesis-relay/values.schema.json')) as JsonObject;
const defaults = readYaml('helm/kinesis-relay/values.yaml') as JsonObject;
const chart = readYaml('helm/kinesis-relay/Chart.yaml') as JsonObject;
const ciValueFiles = readdirSync(join(chartDir, 'ci')).filter((f) => f.endsWith('-values.yaml'));

// `uri` (from z.url()) is checked by the relay itself at start; ajv only needs to know the name.
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, formats: { uri: true } });
const validateValues = ajv.compile(schema);

function schemaErrors(values: unknown): string[] {
  if (validateValues(values)) return [];
  return (validateValues.errors ?? []).map(
    (e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}

/** Helm's merge of -f values over the chart defaults: maps merge, null deletes, the rest replaces. */
function helmMerge(base: JsonObject, override: JsonObject): JsonObject {
  const out: JsonObject = structuredClone(base);
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete out[key];
    else if (isObject(value) && isObject(out[key])) out[key] = helmMerge(out[key], value);
    else out[key] = structuredClone(value);
  }
  return out;
}

function withValue(path: string, value: unknown): JsonObject {
  const copy = structuredClone(defaults);
  const keys = path.split('.');
  let node: JsonObject = copy;
  for (const key of keys.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as JsonObject;
  }
  node[keys[keys.length - 1]] = value as JsonObject[string];
  return copy;
}

function schemaNode(path: string[]): JsonObject | undefined {
  let node: unknown = schema;
  for (const key of path) {
    const properties = isObject(node) ? node.properties : undefined;
    if (!isObject(properties) || !isObject(properties[key])) return undefined;
    node = properties[key];
  }
  return isObject(node) ? node : undefined;
}

/** Dotted paths of the leaves the README must document: the schema's own objects are opened. */
function documentedPaths(node: JsonObject, prefix = ''): string[] {
  const properties = node.properties;
  if (!isObject(properties)) return [prefix];
  return Object.entries(properties).flatMap(([key, child]) =>
    documentedPaths(child as JsonObject, prefix ? `${prefix}.${key}` : key),
  );
}

describe('values.schema.json', () => {
  it('accepts the default values.yaml', () => {
    expect(schemaErrors(defaults)).toEqual([]);
  });

  it('closes every chart-owned object with additionalProperties: false', () => {
    const open: string[] = [];
    const walk = (node: JsonObject, path: string) => {
      if (isObject(node.properties)) {
        if (node.additionalProperties !== false) open.push(path || '(root)');
        for (const [key, child] of Object.entries(node.properties)) {
          walk(child as JsonObject, path ? `${path}.${key}` : key);
        }
      }
    };
    walk(schema, '');
    // config.sinks items are validated in full by the relay (check-config); they are arrays.
    expect(open).toEqual([]);
  });

  it.each(ciValueFiles)('accepts ci/%s merged over the defaults', (file) => {
    const merged = helmMerge(defaults, readYaml('helm/kinesis-relay/ci', file) as JsonObject);
    expect(schemaErrors(merged)).toEqual([]);
  });

  it.each([
    ['replicaCout', 3],
    ['image.tagg', 'v1'],
    ['serviceAccount.rolearn', 'arn:aws:iam::111122223333:role/x'],
    ['podDisruptionBudget.maxUnavailible', 1],
    ['serviceMonitor.interva', '30s'],
    ['keda.shardCount', 2],
    ['config.shutdown.timeoutMS', 30000],
    ['config.stream.initialPositon', 'LATEST'],
    ['config.metrics.prot', 9000],
    ['config.deadletter', { type: 's3', bucket: 'x-bucket' }],
  ])('rejects the typo %s', (path, value) => {
    const errors = schemaErrors(withValue(path, value));
    expect(errors.join('\n')).toContain('must NOT have additional properties');
    expect(errors.join('\n')).toContain(path.split('.').pop());
  });

  it.each([
    ['replicaCount', '2'],
    ['image.digest', 'latest'],
    ['image.pullPolicy', 'Sometimes'],
    ['serviceAccount.roleArn', 'my-role'],
    ['secretEnv', { 'BAD-NAME': { secretName: 's', key: 'k' } }],
    ['secretEnv', { WEBHOOK_SECRET: { secret: 's', key: 'k' } }],
    ['config.stream.initialPosition', 'EARLIEST'],
    ['config.decode.format', 'xml'],
    ['config.sinks', []],
    ['config.shutdown.timeoutMs', 0],
    ['terminationGracePeriodSeconds', '30'],
  ])('rejects %s = %j', (path, value) => {
    expect(schemaErrors(withValue(path, value))).not.toEqual([]);
  });

  it('leaves the relay its post-timeout close (2 s) and exit (1 s) before SIGKILL: extra seconds below 3 are rejected', () => {
    // After shutdown.timeoutMs the relay still closes its clients (up to 2 s) and exits
    // 1 s later (app-shutdown.ts, run-command.ts): a SIGKILL before that cuts its last logs.
    expect(schemaErrors(withValue('terminationGracePeriodExtraSeconds', 2))).not.toEqual([]);
    expect(schemaErrors(withValue('terminationGracePeriodExtraSeconds', 3))).toEqual([]);
  });

  it('rejects minAvailable and maxUnavailable set together', () => {
    const values = withValue('podDisruptionBudget.minAvailable', 1);
    expect(get(values, 'podDisruptionBudget.maxUnavailable')).toBe(1);
    expect(schemaErrors(values)).not.toEqual([]);
    expect(schemaErrors(withValue('podDisruptionBudget.maxUnavailable', null))).toEqual([]);
  });

  it('takes config from the relay zod schema (src/config/schema.ts), generated', () => {
    // Out of date? npx tsx test/deploy/chart-config-schema.ts --write, then prettier.
    expect(schemaNode(['config'])).toEqual(chartConfigSchema());
  });

  it.each([
    ['config.stream.initialPosition', 'EARLIEST', false],
    ['config.sinks', [{ name: 'a', type: 's3', bucket: 'b-bucket', bukket: 'x' }], false],
    ['config.sinks', [{ name: 'a', type: 's3', bucket: 'b-bucket', format: 'avro' }], false],
    ['config.sinks', [{ name: 'w', type: 'webhook', url: 'https://example.com' }], true],
    ['config.metrics.port', '${METRICS_PORT:-9464}', true],
    ['config.metrics.port', 'ninety', false],
  ])('checks %s = %j as the relay does (accepted: %s)', (path, value, accepted) => {
    expect(schemaErrors(withValue(path, value)).length === 0).toBe(accepted);
  });
});

describe('values.config', () => {
  it('is a configuration the relay accepts (the same validation as check-config)', () => {
    const config = validateConfig(defaults.config, 'values.yaml', {});
    expect(config.stream?.name).toBe(get(defaults, 'config.stream.name'));
    expect(config.shutdown.timeoutMs).toBe(25_000);
    expect(config.metrics.port).toBe(get(defaults, 'service.port'));
  });

  it.each(ciValueFiles)('ci/%s renders a config the relay accepts', (file) => {
    const merged = helmMerge(defaults, readYaml('helm/kinesis-relay/ci', file) as JsonObject);
    const env = { AIRSHIP_APP_KEY: 'app-key-from-secret' };
    expect(() => validateConfig(merged.config, file, env)).not.toThrow();
  });

  it('keeps secrets out of the ConfigMap: secret-looking keys only reference ${VAR}s', () => {
    const offenders: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (isObject(node)) {
        for (const [key, value] of Object.entries(node)) walk(value, `${path}.${key}`);
      } else if (Array.isArray(node)) {
        node.forEach((value, index) => walk(value, `${path}.${index}`));
      } else if (
        typeof node === 'string' &&
        /(secret|password|token|url|appkey)$/i.test(path) &&
        !/^\$\{[A-Z0-9_]+(:-[^}]*)?\}$/.test(node)
      ) {
        offenders.push(path);
      }
    };
    for (const file of ['values.yaml', ...ciValueFiles.map((f) => `ci/${f}`)]) {
      walk((readYaml('helm/kinesis-relay', file) as JsonObject).config, `${file}:config`);
    }
    expect(offenders).toEqual([]);
  });
});

describe('chart files', () => {
  it('Chart.yaml is a v2 application chart named after its directory', () => {
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe(basename(chartDir));
    expect(chart.type).toBe('application');
    expect(String(chart.version)).toMatch(/^\d+\.\d+\.\d+/);
    expect(String(chart.appVersion)).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('the README documents every value', () => {
    const readme = readText('helm/kinesis-relay/README.md');
    // Below config.<key> the reference is docs/configuration.md, itself tested against the
    // relay's schema; the chart README must name each top-level config key.
    const paths = documentedPaths(schema).map((path) =>
      path.startsWith('config.') ? path.split('.').slice(0, 2).join('.') : path,
    );
    const missing = [...new Set(paths)].filter(
      (path) => !readme.includes(`\`${path}\``) && !readme.includes(`\`${path}.`),
    );
    expect(missing).toEqual([]);
    // The values tables name no config key that does not exist (prose may show typos).
    const tableRows = readme
      .split('\n')
      .filter((line) => line.startsWith('|'))
      .join('\n');
    const named = [...tableRows.matchAll(/^\| `(config(?:\.[A-Za-z]+)+)`/gm)].map(
      (m) => m[1] ?? '',
    );
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((path) => !schemaNode(path.split('.')))).toEqual([]);
  });

  it('carries the dashboard and alert rules that the templates and compose file read', () => {
    const dashboard = JSON.parse(readText('helm/kinesis-relay/files/grafana-dashboard.json'));
    expect(dashboard.uid).toBe('kinesis-relay');
    expect(Array.isArray(dashboard.panels) && dashboard.panels.length > 0).toBe(true);
    const rules = readYaml('helm/kinesis-relay/files/alerts.yaml') as JsonObject;
    expect(Array.isArray(rules.groups) && rules.groups.length > 0).toBe(true);
  });
});

describe('templates', () => {
  const texts = listFiles(join(chartDir, 'templates'), '').map((path) => ({
    name: basename(path),
    text: readFileSync(path, 'utf8'),
  }));
  const helpers = texts.find((t) => t.name === '_helpers.tpl')?.text ?? '';

  it('opens and closes every block (if / range / with / define ... end)', () => {
    const unbalanced: string[] = [];
    for (const { name, text } of texts) {
      let depth = 0;
      for (const [, action] of text.matchAll(/\{\{-?\s*(if|range|with|define|end)\b/g)) {
        depth += action === 'end' ? -1 : 1;
        if (depth < 0) break;
      }
      if (depth !== 0) unbalanced.push(`${name}: ${depth > 0 ? 'missing end' : 'extra end'}`);
    }
    expect(texts.length).toBeGreaterThanOrEqual(11);
    expect(unbalanced).toEqual([]);
  });

  it('includes only templates that _helpers.tpl defines', () => {
    const defined = new Set([...helpers.matchAll(/define "([^"]+)"/g)].map((m) => m[1]));
    const used = texts.flatMap(({ text }) =>
      [...text.matchAll(/include "([^"]+)"/g)].map((m) => m[1]),
    );
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((name) => !defined.has(name))).toEqual([]);
  });

  it('reads only values that the schema defines', () => {
    const paths = texts.flatMap(({ text }) =>
      [...text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)].map((m) => m[1].slice(1)),
    );
    expect(paths.length).toBeGreaterThan(40);
    expect([...new Set(paths)].filter((p) => !schemaNode(p.split('.')))).toEqual([]);
  });

  it('the PrometheusRule template rewrites the job selector files/alerts.yaml holds', () => {
    // No helm here to render it: the literal the template replaces must be in the file,
    // once (else the alert would silently keep the compose stack's job name).
    const template = texts.find((t) => t.name === 'prometheusrule.yaml')?.text ?? '';
    const replaced = /\$jobSelector := "((?:[^"\\]|\\.)*)"/.exec(template)?.[1];
    expect(replaced).toBeDefined();
    const literal = (replaced ?? '').replaceAll('\\"', '"');
    const alerts = readText('helm/kinesis-relay/files/alerts.yaml');
    expect(alerts.split(literal).length - 1).toBe(1);
  });

  it('reads the files it packages', () => {
    const read = texts.flatMap(({ text }) =>
      [...text.matchAll(/\.Files\.Get "([^"]+)"/g)].map((m) => m[1]),
    );
    expect(read.sort()).toEqual(['files/alerts.yaml', 'files/grafana-dashboard.json']);
  });
});

describe('terminationGracePeriodSeconds (_helpers.tpl, read as text: no helm here)', () => {
  const helpers = readText('helm/kinesis-relay/templates/_helpers.tpl');
  const define = (name: string) =>
    new RegExp(`define "${name}" -}}([\\s\\S]*?)\\{\\{- end \\}\\}\\n\\n`).exec(helpers)?.[1] ?? '';

  it('a ${VAR} shutdown timeout does not shrink the grace period to the extra seconds', () => {
    // The schema accepts config.shutdown.timeoutMs: '${SHUTDOWN_MS:-90000}' (read in the
    // container); `int` made it 0, and the pod was killed 10 s into a 90 s shutdown.
    expect(schemaErrors(withValue('config.shutdown.timeoutMs', '${SHUTDOWN_MS:-90000}'))).toEqual(
      [],
    );
    const timeout = define('kinesis-relay.shutdownTimeoutSeconds');
    expect(timeout).toMatch(/kindIs "string" \$timeoutMs/);
    expect(timeout).toMatch(
      /fail \(printf "config\.shutdown\.timeoutMs is %s[^"]*terminationGracePeriodSeconds/,
    );
  });

  it('an explicit terminationGracePeriodSeconds must leave the relay 3 s past its shutdown timeout', () => {
    const grace = define('kinesis-relay.terminationGracePeriodSeconds');
    expect(grace).toMatch(
      /lt \(int \.Values\.terminationGracePeriodSeconds\) \(add \$shutdown 3\)/,
    );
    expect(grace).not.toMatch(/\ble \(int/);
  });
});

describe('rendered manifests, default values (fixtures/rendered-default.yaml)', () => {
  const manifests = readManifests('test/deploy/fixtures/rendered-default.yaml');
  const deployment = findManifest(manifests, 'Deployment');
  const podSpec = get(deployment, 'spec.template.spec') as JsonObject;
  const container = get(podSpec, 'containers.0') as JsonObject;
  const podLabels = get(deployment, 'spec.template.metadata.labels') as JsonObject;

  it('has one document per template enabled by default', () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual(
      ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount'].sort(),
    );
  });

  it('renders values.config as relay.yaml', () => {
    const configMap = findManifest(manifests, 'ConfigMap');
    const relayYaml: unknown = parseYaml(
      String((get(configMap, 'data') as JsonObject)['relay.yaml']),
    );
    expect(relayYaml).toEqual(defaults.config);
  });

  it('runs the image of the chart appVersion with the documented command', () => {
    expect(container.image).toBe(`${get(defaults, 'image.repository')}:${chart.appVersion}`);
    expect(container.args).toEqual(['run', '--config', '/etc/kinesis-relay/relay.yaml']);
    const mount = (container.volumeMounts as JsonObject[]).find((m) => m.name === 'config');
    expect(mount?.mountPath).toBe('/etc/kinesis-relay');
    const volume = (podSpec.volumes as JsonObject[]).find((v) => v.name === 'config');
    expect(get(volume, 'configMap.name')).toBe(
      get(findManifest(manifests, 'ConfigMap'), 'metadata.name'),
    );
    expect(get(deployment, 'spec.replicas')).toBe(defaults.replicaCount);
  });

  it('probes /healthz and /readyz on the metrics port from config.metrics.port', () => {
    const port = (container.ports as JsonObject[]).find((p) => p.name === 'metrics');
    expect(port?.containerPort).toBe(get(defaults, 'config.metrics.port'));
    expect(get(container, 'livenessProbe.httpGet')).toEqual({ path: '/healthz', port: 'metrics' });
    expect(get(container, 'readinessProbe.httpGet')).toEqual({ path: '/readyz', port: 'metrics' });
  });

  it('gives the relay more time than its shutdown timeout before SIGKILL', () => {
    const grace = podSpec.terminationGracePeriodSeconds as number;
    const timeoutMs = get(defaults, 'config.shutdown.timeoutMs') as number;
    expect(grace).toBeGreaterThan(timeoutMs / 1000);
    expect(grace).toBe(
      Math.ceil(timeoutMs / 1000) + (defaults.terminationGracePeriodExtraSeconds as number),
    );
  });

  it('runs as non-root with a read-only root filesystem and no capabilities', () => {
    expect(get(podSpec, 'securityContext.runAsNonRoot')).toBe(true);
    expect(get(podSpec, 'securityContext.runAsUser')).toBe(10001);
    expect(get(container, 'securityContext.readOnlyRootFilesystem')).toBe(true);
    expect(get(container, 'securityContext.allowPrivilegeEscalation')).toBe(false);
    expect(get(container, 'securityContext.capabilities.drop')).toEqual(['ALL']);
    const tmp = (container.volumeMounts as JsonObject[]).find((m) => m.mountPath === '/tmp');
    expect(tmp).toBeDefined();
    // No Kubernetes API token in the pod: the relay never calls the API server.
    expect(podSpec.automountServiceAccountToken).toBe(false);
  });

  it('wires names and selectors together', () => {
    const selector = get(deployment, 'spec.selector.matchLabels') as JsonObject;
    expect(podLabels).toMatchObject(selector);
    const service = findManifest(manifests, 'Service');
    expect(podLabels).toMatchObject(get(service, 'spec.selector') as JsonObject);
    expect(get(service, 'spec.ports.0.targetPort')).toBe('metrics');
    expect(get(service, 'spec.ports.0.port')).toBe(get(defaults, 'service.port'));
    const pdb = findManifest(manifests, 'PodDisruptionBudget');
    expect(get(pdb, 'spec.selector.matchLabels')).toEqual(selector);
    expect(get(pdb, 'spec.maxUnavailable')).toBe(
      get(defaults, 'podDisruptionBudget.maxUnavailable'),
    );
    const account = findManifest(manifests, 'ServiceAccount');
    expect(podSpec.serviceAccountName).toBe(get(account, 'metadata.name'));
    expect(get(deployment, 'spec.template.metadata.annotations.checksum/config')).toMatch(
      /^[a-f0-9]{64}$/,
    );
    for (const manifest of manifests) {
      expect(get(manifest, 'metadata.namespace')).toBe('kinesis-relay');
      const labels = get(manifest, 'metadata.labels') as JsonObject;
      expect(labels['app.kubernetes.io/version']).toBe(chart.appVersion);
      expect(labels).toMatchObject(selector);
    }
  });

  it('a sink outage (every pod not ready) does not block node drains: unready pods may be evicted', () => {
    // /readyz fails while a sink is down, on every replica at once. With the default
    // IfHealthyBudget the eviction API then refuses every pod (currentHealthy 0 < desired)
    // and `kubectl drain` hangs for the whole outage; an evicted relay stops cleanly
    // (SIGTERM: flush, checkpoint, release), so an unready one may always go.
    const pdb = findManifest(manifests, 'PodDisruptionBudget');
    expect(get(pdb, 'spec.unhealthyPodEvictionPolicy')).toBe('AlwaysAllow');
    expect(get(defaults, 'podDisruptionBudget.unhealthyPodEvictionPolicy')).toBe('AlwaysAllow');
    const template = readText('helm/kinesis-relay/templates/pdb.yaml');
    // The field exists from Kubernetes 1.27 (beta, on by default); the chart supports 1.25,
    // where Helm's schema validation would refuse an unknown field.
    expect(template).toContain('semverCompare ">=1.27-0" .Capabilities.KubeVersion.Version');
    expect(template).toContain(
      'unhealthyPodEvictionPolicy: {{ .Values.podDisruptionBudget.unhealthyPodEvictionPolicy }}',
    );
  });

  it('validates against the Kubernetes API schemas (kubernetes-models)', async (context) => {
    const validated = await validateWithModels(manifests);
    if (validated === null) {
      context.skip(
        'kubernetes-models is not installed (npm i -D kubernetes-models); nothing validated',
      );
    }
    expect(validated).toEqual(manifests.map((m) => m.kind));
  });

  it('passes kubectl apply --dry-run=client --validate=strict', async (context) => {
    const reason = kubectlUnavailable();
    if (reason) context.skip(reason);
    const result = run('kubectl', [
      'apply',
      '--dry-run=client',
      '--validate=strict',
      '--context',
      process.env.KINESIS_RELAY_KUBE_CONTEXT ?? '',
      '-f',
      repoPath('test/deploy/fixtures/rendered-default.yaml'),
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(manifests.length);
  });
});

describe('rendered manifests, optional features (fixtures/rendered-features.yaml)', () => {
  const manifests = readManifests('test/deploy/fixtures/rendered-features.yaml');
  const features = ['monitoring-values.yaml', 'keda-values.yaml'].reduce(
    (values, file) => helmMerge(values, readYaml('helm/kinesis-relay/ci', file) as JsonObject),
    defaults,
  );
  const defaultManifests = readManifests('test/deploy/fixtures/rendered-default.yaml');
  const service = findManifest(defaultManifests, 'Service');

  it('carries files/grafana-dashboard.json in a ConfigMap the Grafana sidecar picks up', () => {
    const configMap = findManifest(manifests, 'ConfigMap', 'kinesis-relay-dashboard');
    expect(get(configMap, 'metadata.labels')).toMatchObject(
      get(features, 'grafanaDashboard.labels') as JsonObject,
    );
    const json = String((get(configMap, 'data') as JsonObject)['kinesis-relay.json']);
    expect(JSON.parse(json)).toEqual(
      JSON.parse(readText('helm/kinesis-relay/files/grafana-dashboard.json')),
    );
  });

  it('uses files/alerts.yaml as the PrometheusRule spec, TargetDown naming the job the ServiceMonitor scrapes', () => {
    const rule = findManifest(manifests, 'PrometheusRule');
    const monitor = findManifest(manifests, 'ServiceMonitor');
    // prometheus-operator: without spec.jobLabel a target's job is its Service's name, and
    // the target carries the Service's namespace (two releases may share a name).
    expect(get(monitor, 'spec.jobLabel')).toBeUndefined();
    const [namespace] = get(monitor, 'spec.namespaceSelector.matchNames') as string[];
    const job = String(get(service, 'metadata.name'));
    const expected = readYaml('helm/kinesis-relay/files/alerts.yaml') as {
      groups: Array<{ rules: Array<{ alert?: string; expr: string }> }>;
    };
    const targetDown = expected.groups
      .flatMap((group) => group.rules)
      .find((r) => r.alert === 'KinesisRelayTargetDown');
    if (!targetDown) throw new Error('no KinesisRelayTargetDown rule');
    targetDown.expr = `up{job="${job}",namespace="${namespace}"} == 0`;
    expect(rule.spec).toEqual(expected);
    expect(get(rule, 'metadata.labels')).toMatchObject(
      get(features, 'prometheusRule.labels') as JsonObject,
    );
  });

  it('points the ServiceMonitor at the metrics Service port', () => {
    const monitor = findManifest(manifests, 'ServiceMonitor');
    expect(get(service, 'metadata.labels')).toMatchObject(
      get(monitor, 'spec.selector.matchLabels') as JsonObject,
    );
    expect(get(monitor, 'spec.endpoints.0.port')).toBe(get(service, 'spec.ports.0.name'));
    expect(get(monitor, 'spec.endpoints.0.path')).toBe('/metrics');
  });

  it('scales the Deployment on the stream shard count with the relay IRSA role', () => {
    const scaled = findManifest(manifests, 'ScaledObject');
    const trigger = get(scaled, 'spec.triggers.0') as JsonObject;
    expect(trigger.type).toBe('aws-kinesis-stream');
    // config.stream.name is an ARN in ci/keda-values.yaml; the scaler takes the name.
    expect(get(features, 'config.stream.name')).toMatch(/^arn:aws:kinesis:/);
    expect(get(trigger, 'metadata')).toEqual({
      streamName: 'engagement-events',
      awsRegion: get(features, 'config.aws.region'),
      shardCount: String(get(features, 'keda.shardsPerReplica')),
    });
    expect(get(scaled, 'spec.scaleTargetRef.name')).toBe(
      get(findManifest(defaultManifests, 'Deployment'), 'metadata.name'),
    );
    const auth = findManifest(manifests, 'TriggerAuthentication');
    expect(get(trigger, 'authenticationRef.name')).toBe(get(auth, 'metadata.name'));
    expect(get(auth, 'spec.podIdentity')).toEqual({ provider: 'aws', identityOwner: 'workload' });
    const account = findManifest(manifests, 'ServiceAccount');
    expect((get(account, 'metadata.annotations') as JsonObject)['eks.amazonaws.com/role-arn']).toBe(
      get(features, 'serviceAccount.roleArn'),
    );
  });

  it('validates against the CRD and Kubernetes schemas (@kubernetes-models/*)', async (context) => {
    const validated = await validateWithModels(manifests);
    if (validated === null) {
      context.skip(
        'kubernetes-models, @kubernetes-models/prometheus-operator or @kubernetes-models/keda is not installed; nothing validated',
      );
    }
    expect(validated).toEqual(manifests.map((m) => m.kind));
  });
});

const MODEL_MODULES: Record<string, string> = {
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/ServiceAccount': 'kubernetes-models/v1/ServiceAccount',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'monitoring.coreos.com/v1/ServiceMonitor':
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule':
    '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule',
  'keda.sh/v1alpha1/ScaledObject': '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject',
  'keda.sh/v1alpha1/TriggerAuthentication':
    '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication',
};

type Model = new (data: unknown) => { validate(): void };

/**
 * Validates each manifest with the model generated from the official OpenAPI / CRD schema:
 * types, required fields, enums and formats (unknown fields are not reported). Returns
 * the validated kinds, or null when a model package is not installed.
 */
async function validateWithModels(manifests: JsonObject[]): Promise<string[] | null> {
  const validated: string[] = [];
  for (const manifest of manifests) {
    const key = `${manifest.apiVersion}/${manifest.kind}`;
    const specifier = MODEL_MODULES[key];
    if (!specifier) throw new Error(`no schema model mapped for ${key}`);
    const module = await importOptional(specifier);
    if (!module) return null;
    const Model = module[String(manifest.kind)] as Model;
    const { apiVersion: _apiVersion, kind: _kind, ...data } = manifest;
    try {
      new Model(data).validate();
    } catch (error) {
      throw new Error(`${key} ${String(get(manifest, 'metadata.name'))}: ${String(error)}`);
    }
    validated.push(String(manifest.kind));
  }
  return validated;
}

/** Why kubectl cannot validate here, or null when it can. */
function kubectlUnavailable(): string | null {
  if (!hasTool('kubectl', ['version', '--client'])) return 'kubectl is not installed';
  if (!process.env.KINESIS_RELAY_KUBE_CONTEXT) {
    return (
      'kubectl --dry-run=client still needs an API server (discovery and OpenAPI); set ' +
      'KINESIS_RELAY_KUBE_CONTEXT to a kubeconfig context (kind, minikube) to run this check'
    );
  }
  return null;
}
