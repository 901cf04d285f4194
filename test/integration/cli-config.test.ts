import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/relay-process.js';

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'kinesis-relay-bad-')), 'relay.yaml');
  writeFileSync(path, text);
  return path;
}

describe('the CLI with bad configuration exits 2 naming the key and the reason', () => {
  it.each([
    [
      'an unknown key',
      'application: app\nstream: { name: s }\nsinks: [{ name: a, type: s3, bucket: bkt, bukket: x }]\n',
      'sinks.0.bukket: unknown key',
    ],
    [
      'a wrong type',
      'application: app\nstream: { name: s }\nleases: { failoverMs: soon }\nsinks: [{ name: a, type: s3, bucket: bkt }]\n',
      'leases.failoverMs:',
    ],
    [
      'a missing bucket',
      'application: app\nstream: { name: s }\nsinks: [{ name: a, type: s3 }]\n',
      'sinks.0.bucket: is required',
    ],
    [
      'no sinks',
      'application: app\nstream: { name: s }\nsinks: []\n',
      'sinks: needs at least one sink',
    ],
    [
      'a missing stream name',
      'application: app\nstream: {}\nsinks: [{ name: a, type: s3, bucket: bkt }]\n',
      'stream.name: is required',
    ],
  ])('%s', async (_what, text, expected) => {
    for (const command of ['check-config', 'run']) {
      const { code, output } = await runCli([command, '--config', file(text)]);
      expect(code).toBe(2);
      expect(output).toContain(expected);
    }
  });

  it('a config file that does not exist', async () => {
    const { code, output } = await runCli(['run', '--config', '/nonexistent/relay.yaml']);
    expect(code).toBe(2);
    expect(output).toContain('/nonexistent/relay.yaml does not exist');
  });

  it('an unknown command is a usage error', async () => {
    const { code } = await runCli(['frobnicate']);
    expect(code).toBe(2);
  });

  it('check-config prints the effective config with secrets redacted, via $KINESIS_RELAY_CONFIG', async () => {
    const path = file(
      'application: app\nstream: { name: s }\nsinks: [{ name: a, type: s3, bucket: bkt }]\ndeadLetter: { type: directory, path: /tmp/dl }\n',
    );
    const { code, output } = await runCli(['check-config'], {
      ...process.env,
      KINESIS_RELAY_CONFIG: path,
    });
    expect(code).toBe(0);
    expect(output).toContain('failoverMs: 10000');
    expect(output).toContain('bucket: bkt');
  });

  it('check-config prints no webhook header value or URL token (X-Api-Key, ?api_key=, ?sig=)', async () => {
    const secrets = ['hdr-xapikey-1', 'hdr-apikey-2', 'hdr-bearer-3', 'hdr-tenant-4'];
    const queryTokens = ['q-apikey-5', 'q-token-6', 'q-sig-7', 'q-access-token-8'];
    const path = file(
      [
        'application: app',
        'stream: { name: s }',
        'sinks:',
        '  - name: hooks',
        '    type: webhook',
        `    url: 'https://hooks.example.com/in?api_key=${queryTokens[0]}&token=${queryTokens[1]}&sig=${queryTokens[2]}&access_token=${queryTokens[3]}&region=eu-west-1'`,
        '    headers:',
        `      X-Api-Key: ${secrets[0]}`,
        `      Api-Key: ${secrets[1]}`,
        `      Authorization: 'Bearer ${secrets[2]}'`,
        `      X-Tenant: ${secrets[3]}`,
        '      Content-Type: application/json',
        '      User-Agent: acme-relay/1.0',
        '',
      ].join('\n'),
    );
    const { code, output } = await runCli(['check-config', '--config', path]);
    expect(code, output).toBe(0);
    for (const secret of [...secrets, ...queryTokens]) expect(output).not.toContain(secret);
    // What is not secret stays readable: the URL's origin, harmless headers.
    expect(output).toContain('url: https://hooks.example.com/[redacted]');
    expect(output).toContain('Content-Type: application/json');
    expect(output).toContain('User-Agent: acme-relay/1.0');
    expect(output).toContain('X-Api-Key:');
  });

  it('check-config prints no secret of a webhook URL path or userinfo (Slack https://hooks.slack.com/services/T000/B000/XXXX)', async () => {
    const path = file(
      [
        'application: app',
        'stream: { name: s }',
        'sinks:',
        '  - name: slack',
        '    type: webhook',
        "    url: 'https://hooks.slack.com/services/T0SECRET/B0SECRET/XXXXSECRET'",
        '  - name: partner',
        '    type: webhook',
        "    url: 'https://relay:pw-SECRET@partner.example.com:8443/in/tok-SECRET'",
        '',
      ].join('\n'),
    );
    const { code, output } = await runCli(['check-config', '--config', path]);
    expect(code, output).toBe(0);
    expect(output).not.toContain('SECRET');
    expect(output).toContain('url: https://hooks.slack.com/[redacted]');
    expect(output).toContain('url: https://[redacted]@partner.example.com:8443/[redacted]');
  });
});
