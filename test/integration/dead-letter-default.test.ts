import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStream, putAll, type OutgoingRecord } from '../../src/demo/producer.js';
import { readDeadLetters } from '../support/dead-letters.js';
import { numberedRecord } from '../support/records.js';
import { testRelayConfig } from '../support/relay-config.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';
import {
  createBucket,
  uniqueName,
  useTestStack,
  waitForPutsCheckpointed,
} from '../support/stack.js';

/** Not JSON (0xff first), carrying something a log must not: a user's e-mail address. */
function personal(n: number): OutgoingRecord {
  return {
    partitionKey: `pii-${n}`,
    data: Buffer.concat([
      Buffer.from([0xff, 0x00]),
      Buffer.from(`{"email":"user${n}@example.com"}`),
    ]),
  };
}

describe('dead-letter entries without a configured destination', () => {
  const test = useTestStack();

  it('with no deadLetter configured, raw record bytes never go to the log: entries land in a local directory', async () => {
    const names = {
      stream: uniqueName('dlq-none'),
      table: uniqueName('dlq-none-leases'),
      bucket: uniqueName('dlq-none-archive'),
    };
    await createStream(test.clients.kinesis, names.stream, 1);
    await createBucket(test.clients, names.bucket);
    const records = Array.from({ length: 40 }, (_, i) =>
      i % 4 === 0 ? personal(i) : numberedRecord(i),
    );
    const put = await putAll(test.clients.kinesis, names.stream, records);
    const configPath = writeConfig(testRelayConfig(names));
    // The documented default lives under the temporary directory: a fresh one per test.
    const temporary = mkdtempSync(join(tmpdir(), 'kinesis-relay-tmp-'));
    const relay = startRelayProcess(['run', '--config', configPath], {
      ...process.env,
      TMPDIR: temporary,
    });
    try {
      await waitForPutsCheckpointed(test.clients, names.table, put);
    } finally {
      relay.child.kill('SIGTERM');
    }
    expect(await relay.exited).toBe(0);

    const output = relay.output();
    for (const record of records.filter((_, i) => i % 4 === 0)) {
      expect(output).not.toContain(Buffer.from(record.data).toString('base64'));
    }
    expect(output).toMatch(/no deadLetter configured/);
    const entries = readDeadLetters(join(temporary, 'kinesis-relay-dead-letter'));
    expect(entries.map((e) => e.partitionKey).sort()).toEqual(
      records
        .map((_, i) => i)
        .filter((i) => i % 4 === 0)
        .map((i) => `pii-${i}`)
        .sort(),
    );
  });
});
