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
});
