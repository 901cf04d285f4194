import { describe, expect, it } from 'vitest';
import { configProblems as problemsOf } from '../../test/support/config-problems.js';
import { parseConfig } from './load.js';
import { redactConfig } from './redact.js';

const minimal = `
application: my-app
stream: { name: events }
sinks:
  - { name: archive, type: s3, bucket: my-bucket }
`;

describe('config loading', () => {
  it('fills the documented defaults', () => {
    const config = parseConfig(minimal, 'test.yaml', {});
    expect(config.stream?.initialPosition).toBe('TRIM_HORIZON');
    expect(config.leases.failoverMs).toBe(10_000);
    expect(config.consumer.maxRecordsPerCall).toBe(10_000);
    expect(config.checkpoint.intervalMs).toBe(5000);
    expect(config.shutdown.timeoutMs).toBe(25_000);
    expect(config.metrics.port).toBe(9464);
    expect(config.sinks[0]).toMatchObject({
      format: 'jsonl',
      layout: 'hourly',
      compression: 'gzip',
    });
  });

  it('reads ${VAR} and ${VAR:-default} from the environment, typed as if written literally', () => {
    const config = parseConfig(
      `${minimal}metrics:\n  port: \${PORT:-9999}\nlog:\n  level: \${LEVEL}\n`,
      'test.yaml',
      { LEVEL: 'debug' },
    );
    expect(config.metrics.port).toBe(9999);
    expect(config.log.level).toBe('debug');
  });

  it('names an unset variable and the key that uses it', () => {
    expect(problemsOf(`${minimal}log:\n  level: \${LOG_LEVEL}\n`)).toContain(
      'log.level: environment variable LOG_LEVEL is not set and has no :-default',
    );
  });

  it('names unknown keys, wrong types and missing required keys', () => {
    const problems = problemsOf(`
application: my-app
stream: { name: events, initalPosition: LATEST }
consumer: { maxRecordsPerCall: lots }
sinks:
  - { name: archive, type: s3 }
`);
    expect(problems).toContain('stream.initalPosition: unknown key');
    expect(problems.some((p) => p.startsWith('consumer.maxRecordsPerCall:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('sinks.0.bucket: is required'))).toBe(true);
  });

  it('requires appKey and integrationId for the airship layout', () => {
    const problems = problemsOf(`
application: my-app
stream: { name: events }
sinks:
  - { name: archive, type: s3, bucket: my-bucket, layout: airship }
`);
    expect(problems).toContain(
      'sinks.0.appKey: is required with layout: airship (it is the first part of every key)',
    );
  });

  it('rejects AT_TIMESTAMP without a timestamp, and duplicate sink names', () => {
    const problems = problemsOf(`
application: my-app
stream: { name: events, initialPosition: AT_TIMESTAMP }
sinks:
  - { name: archive, type: s3, bucket: my-bucket }
  - { name: archive, type: s3, bucket: other-bucket }
`);
    expect(problems).toContain(
      'stream.initialTimestamp: is required with initialPosition: AT_TIMESTAMP',
    );
    expect(problems.some((p) => p.startsWith('sinks.1.name:'))).toBe(true);
  });

  it('reports YAML syntax errors as config errors', () => {
    expect(problemsOf('application: [unclosed')[0]).toMatch(/^not valid YAML/);
  });

  it('redacts secrets and URL passwords when printing', () => {
    const redacted = redactConfig({
      sinks: [{ signingSecret: 's3cr3t', url: 'postgres://user:pw@host:5439/db' }],
    });
    expect(JSON.stringify(redacted)).not.toContain('s3cr3t');
    expect(JSON.stringify(redacted)).not.toContain(':pw@');
    expect(redacted.sinks[0]?.url).toContain('user:');
  });

  it('validates redshift and webhook sinks, naming each bad key', () => {
    const problems = problemsOf(`
application: my-app
stream: { name: events }
sinks:
  - { name: wh, type: redshift, url: 'mysql://x', table: 'bad table', columns: { shard_id: type, note: nowhere } }
  - { name: hook, type: webhook, url: 'ftp://x', format: xml, acessKey: k }
  - { name: other, type: kafka }
`);
    expect(problems).toContain('sinks.0.url: must be a postgres:// URL');
    expect(problems.some((p) => p.startsWith('sinks.0.table: must be a table name'))).toBe(true);
    expect(
      problems.some((p) => p.startsWith('sinks.0.columns.note: must be one of id, type')),
    ).toBe(true);
    expect(problems).toContain(
      'sinks.0.stagingBucket: is required with dialect: redshift (COPY loads from S3)',
    );
    expect(problems.some((p) => p.startsWith('sinks.1.url:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('sinks.1.format:'))).toBe(true);
    expect(problems).toContain('sinks.1.acessKey: unknown key');
    expect(
      problems.some((p) => p.startsWith('sinks.2.type: must be one of: s3, redshift, webhook')),
    ).toBe(true);
  });

  it('refuses a column mapping that names a key column', () => {
    const problems = problemsOf(`
application: my-app
stream: { name: events }
sinks:
  - { name: wh, type: redshift, dialect: postgres, url: 'postgres://h/db', table: t, columns: { shard_id: type } }
`);
    expect(problems.some((p) => p.startsWith('sinks.0.columns.shard_id: is a key column'))).toBe(
      true,
    );
  });

  it('fills the redshift and webhook defaults', () => {
    const config = parseConfig(
      `
application: my-app
stream: { name: events }
sinks:
  - { name: wh, type: redshift, url: 'postgres://u:p@h:5439/dev', table: events, stagingBucket: my-staging }
  - { name: hook, type: webhook, url: 'https://example.com/hook' }
`,
      'test.yaml',
      {},
    );
    expect(config.sinks[0]).toMatchObject({
      dialect: 'redshift',
      createTable: false,
      stagingPrefix: 'redshift-staging/',
      buffer: { maxRecords: 50_000 },
    });
    expect(config.sinks[1]).toMatchObject({
      format: 'json',
      compression: 'none',
      maxConcurrency: 4,
      timeoutMs: 30_000,
      signatureHeader: 'X-Relay-Signature',
      buffer: { maxRecords: 500, maxBytes: 1_048_576, maxAgeMs: 1000 },
    });
  });
});

describe('lease timings that validate alone but cannot hold a lease together', () => {
  it('a renew interval above half the failover time is refused (every renewal would come after self-expiry)', () => {
    expect(problemsOf(`${minimal}leases: { failoverMs: 10000, renewIntervalMs: 10000 }\n`)).toEqual(
      [
        'leases.renewIntervalMs: must be at most half of leases.failoverMs (5000), so one failed renewal does not cost the lease',
      ],
    );
    expect(problemsOf(`${minimal}leases: { failoverMs: 10000, renewIntervalMs: 5000 }\n`)).toEqual(
      [],
    );
  });

  it('a failover time too short for a DynamoDB call to answer within its renew interval is refused', () => {
    expect(problemsOf(`${minimal}leases: { failoverMs: 2 }\n`)).toEqual([
      "leases.failoverMs: must be at least 1000 (a third of it is each lease call's deadline)",
    ]);
    expect(problemsOf(`${minimal}leases: { renewIntervalMs: 1 }\n`)).toEqual([
      "leases.renewIntervalMs: must be at least 250 (it is each lease call's deadline)",
    ]);
  });
});

describe('the liveness stall threshold', () => {
  it('defaults to null (3 x stallAfterMs); 0 or a value not below stallAfterMs is taken, a smaller one refused', () => {
    expect(parseConfig(minimal, 'test.yaml', {}).metrics.livenessStallAfterMs).toBeNull();
    expect(problemsOf(`${minimal}metrics: { livenessStallAfterMs: 0 }\n`)).toEqual([]);
    expect(problemsOf(`${minimal}metrics: { livenessStallAfterMs: 300000 }\n`)).toEqual([]);
    expect(problemsOf(`${minimal}metrics: { livenessStallAfterMs: 60000 }\n`)).toEqual([
      'metrics.livenessStallAfterMs: must be 0 (never) or at least metrics.stallAfterMs (300000): a stall fails readiness before liveness',
    ]);
  });
});

describe('a quoted ${VAR} stays text, whatever the variable holds', () => {
  const webhook = (secret: string) => `
application: my-app
stream: { name: events }
leases:
  workerId: '\${WORKER_ID}'
sinks:
  - name: hooks
    type: webhook
    url: https://example.com/hook
    signingSecret: ${secret}
`;

  it.each(['123456', '0123', 'true', 'null', '~', '12345678901234567890123'])(
    'a secret of %s given through a quoted reference is that text',
    (value) => {
      const env = { SECRET: value, WORKER_ID: 'null' };
      for (const quoted of ['"${SECRET}"', "'${SECRET}'"]) {
        const config = parseConfig(webhook(quoted), 'test.yaml', env);
        expect(config.sinks[0]).toMatchObject({ signingSecret: value });
        // Not a null worker id (which would mean "pick one"): the text the variable holds.
        expect(config.leases.workerId).toBe('null');
      }
    },
  );

  it('an unquoted reference still takes the type it would have written literally', () => {
    const config = parseConfig(`${minimal}metrics:\n  port: \${PORT}\n`, 'test.yaml', {
      PORT: '9999',
    });
    expect(config.metrics.port).toBe(9999);
  });
});

it('an unquoted ${VAR} of digits where text is wanted is that text (a worker id, a secret)', () => {
  const config = parseConfig(`${minimal}leases:\n  workerId: \${WORKER_ID}\n`, 'test.yaml', {
    WORKER_ID: '42',
  });
  expect(config.leases.workerId).toBe('42');
});

it('a quoted ${VAR} where a number or boolean is wanted (flow style must quote) is that number', () => {
  const config = parseConfig(
    [
      'application: my-app',
      'stream: { name: events }',
      'metrics: { port: "${PORT:-9999}" }',
      'leases: { maxLeasesPerWorker: "${MAX}" }',
      'sinks:',
      '  - { name: a, type: s3, bucket: my-bucket, exactlyOnce: "${EO}", idleFlushMs: 60000 }',
      '',
    ].join('\n'),
    'test.yaml',
    { MAX: '7', EO: 'true' },
  );
  expect(config.metrics.port).toBe(9999);
  expect(config.leases.maxLeasesPerWorker).toBe(7);
  expect(config.sinks[0]).toMatchObject({ exactlyOnce: true });
});

describe('a YAML syntax error', () => {
  it.each([
    ['a nested mapping', '    signingSecret: s3cr3t-value: oops\n', 'line 7, column 20'],
    ['an unclosed quote', '    signingSecret: "s3cr3t-value\n', 'line 8, column 1'],
  ])('on a line with a secret (%s) names the line, never the value', (_what, line, at) => {
    const problems = problemsOf(
      `application: my-app\nstream: { name: events }\nsinks:\n  - name: hooks\n    type: webhook\n    url: https://example.com/hook\n${line}`,
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^not valid YAML: /);
    expect(problems[0]).toContain(at);
    expect(problems[0]).not.toContain('s3cr3t');
  });
});

it('a variable set to the empty string is named as empty, not as unset', () => {
  expect(problemsOf(`${minimal}log:\n  level: \${LOG_LEVEL}\n`, { LOG_LEVEL: '' })).toContain(
    'log.level: environment variable LOG_LEVEL is empty and has no :-default',
  );
});

it('a ${VAR} nested in a :-default is refused, not taken as literal text', () => {
  expect(
    problemsOf(`${minimal}leases:\n  workerId: \${WORKER_ID:-\${HOSTNAME}}\n`, { HOSTNAME: 'h1' }),
  ).toEqual([
    'leases.workerId: a ${...} inside the :-default of ${WORKER_ID} is not supported: give the default as text',
  ]);
});

describe('a ${VAR} for consumer.workerThreads (auto or a number)', () => {
  const withThreads = (value: string) => `${minimal}consumer:\n  workerThreads: ${value}\n`;

  it.each([
    ['4', 4],
    ['auto', 'auto'],
  ])('quoted or not, WT=%s loads as %s', (wt, expected) => {
    for (const reference of ['"${WT}"', "'${WT}'", '${WT}']) {
      const config = parseConfig(withThreads(reference), 'test.yaml', { WT: wt });
      expect(config.consumer.workerThreads).toBe(expected);
    }
  });

  it('WT=-1 is refused, naming consumer.workerThreads, quoted or not', () => {
    for (const reference of ['"${WT}"', '${WT}']) {
      const problems = problemsOf(withThreads(reference), { WT: '-1' });
      // Not 'expected "auto"' alone, which the first branch of the union would say.
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        /^consumer\.workerThreads: (must be auto or a whole number, 0 or more|Too small: expected number to be >=0)$/,
      );
    }
  });
});
