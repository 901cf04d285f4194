import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRelayConfig } from '../support/relay-config.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';

const PRELOAD = join(import.meta.dirname, '..', 'support', 'crash-after-listen.mjs');

/** The relay's output lines, each parsed as JSON (null: a line that is not). */
function lines(output: string): Array<Record<string, unknown> | null> {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return null;
      }
    });
}

// No emulators needed: the crash comes as soon as the relay's HTTP server listens; the AWS
// endpoints point at a closed port and are never reached in time to matter.
describe.concurrent('a crash of the relay process', () => {
  it.each([
    ['an uncaught exception', 'throw', 'uncaught exception; exiting'],
    ['an unhandled rejection', 'reject', 'unhandled promise rejection; exiting'],
  ])(
    '%s is logged as one fatal JSON line with its stack, and the process exits 1',
    async (_name, kind, msg) => {
      const config = writeConfig(
        testRelayConfig({ stream: 'crash', table: 'crash-leases', bucket: 'crash' }),
      );
      const relay = startRelayProcess(['run', '--config', config], {
        ...process.env,
        NODE_OPTIONS: `--import=${PRELOAD}`,
        RELAY_TEST_CRASH: kind,
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      });
      expect(await relay.exited).toBe(1);
      const output = lines(relay.output());
      // Every line is JSON: no plain-text stack beside the log lines.
      expect(output).not.toContain(null);
      const fatal = output.filter((line) => line?.level === 60);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ name: 'kinesis-relay', msg });
      const err = fatal[0]?.err as { message?: string; stack?: string } | undefined;
      expect(err?.message).toBe('boom from the test');
      expect(err?.stack).toContain('crash-after-listen.mjs');
      // It crashed after the relay was up, so the line came from the relay's own logger.
      expect(output.some((line) => line?.msg === 'kinesis-relay starting')).toBe(true);
    },
  );
});
