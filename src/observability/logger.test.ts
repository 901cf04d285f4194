import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('logger', () => {
  it('never writes secret values, wherever they sit in a logged object', () => {
    const out = capture();
    const log = createLogger('info', out.stream);
    log.info(
      {
        sink: { name: 'hooks', signingSecret: 'whsec-123' },
        aws: { secretAccessKey: 'AKIA-SECRET', sessionToken: 'TOKEN-456' },
        db: { password: 'hunter2' },
        config: { sinks: [{ name: 'w', url: 'postgres://u:pw@db/x', signingSecret: 's3cr3t' }] },
        headers: { authorization: 'Bearer abc', 'x-amz-firehose-access-key': 'fh-key' },
      },
      'with secrets',
    );
    const text = JSON.stringify(out.lines());
    for (const secret of [
      'whsec-123',
      'AKIA-SECRET',
      'TOKEN-456',
      'hunter2',
      'pw@db',
      's3cr3t',
      'Bearer abc',
      'fh-key',
    ])
      expect(text).not.toContain(secret);
    const [line] = out.lines();
    expect(line).toMatchObject({
      msg: 'with secrets',
      sink: { name: 'hooks', signingSecret: '[redacted]' },
      headers: { authorization: '[redacted]' },
    });
  });

  it('writes JSON lines at the configured level, child bindings included', () => {
    const out = capture();
    const log = createLogger('warn', out.stream).child({ shardId: 'shardId-000000000001' });
    log.info('dropped below the level');
    log.warn({ sink: { name: 'archive' } }, 'kept');
    const lines = out.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: 'kept',
      shardId: 'shardId-000000000001',
      name: 'kinesis-relay',
    });
    expect(typeof lines[0]?.time).toBe('string');
  });
});

describe('redaction at the top level of a logged object', () => {
  it('hides a secret logged as a field of its own, not only one level down', () => {
    const out = capture();
    createLogger('info', out.stream).info({ signingSecret: 'top-secret' }, 'configured');
    const text = JSON.stringify(out.lines());
    expect(text).not.toContain('top-secret');
    expect(text).toContain('[redacted]');
  });
});

describe('redaction of URLs and header values in log lines', () => {
  it('hides URL query tokens and every header value but harmless ones (X-Api-Key, ?token=)', () => {
    const out = capture();
    const log = createLogger('info', out.stream);
    log.warn(
      {
        sink: 'hooks',
        url: 'https://hooks.example.com/in?api_key=q-apikey-1&sig=q-sig-2&region=eu',
        headers: {
          'x-api-key': 'h-xapikey-3',
          'Api-Key': 'h-apikey-4',
          'content-type': 'application/json',
        },
        request: { url: 'https://u:h-pw-5@hooks.example.com/in?token=q-token-6' },
      },
      'batch write failed; retrying',
    );
    const text = JSON.stringify(out.lines());
    for (const secret of [
      'q-apikey-1',
      'q-sig-2',
      'h-xapikey-3',
      'h-apikey-4',
      'h-pw-5',
      'q-token-6',
    ])
      expect(text).not.toContain(secret);
    const [line] = out.lines();
    expect(line).toMatchObject({
      url: expect.stringContaining('https://hooks.example.com/in?api_key=') as unknown,
      headers: { 'content-type': 'application/json' },
    });
    expect(String(line?.url)).toContain('region=eu');
  });
});
