import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeadLetterEntry } from '../../src/sinks/sink.js';
import { directoryDeadLetter, readDeadLetters } from '../support/dead-letters.js';
import { testRelayConfig, type ArchivedLine } from '../support/relay-config.js';
import { runCli, writeConfig } from '../support/relay-process.js';
import { readJsonLines } from '../support/s3-reader.js';
import { createBucket, uniqueName, useTestStack } from '../support/stack.js';

function entry(n: number, over: Partial<DeadLetterEntry>): DeadLetterEntry {
  return {
    stream: 'events',
    shardId: 'shardId-000000000000',
    sequenceNumber: String(49_000_000 + n),
    subSequenceNumber: 0,
    partitionKey: `k${n}`,
    arrivalTime: '2026-12-01T10:00:00.000Z',
    reason: 'decode_failed',
    error: 'not JSON',
    sink: null,
    data: Buffer.from(JSON.stringify({ n })).toString('base64'),
    ...over,
  };
}

describe('dead-letter replay --sink --delete-replayed', () => {
  const test = useTestStack();

  it('keeps a file whose entries are still owed to a sink the replay did not send to (deleting it lost them for good)', async () => {
    const names = {
      stream: 'events',
      table: uniqueName('dlq-owed'),
      bucket: uniqueName('dlq-owed-archive'),
    };
    const copyBucket = uniqueName('dlq-owed-copy');
    await createBucket(test.clients, names.bucket);
    await createBucket(test.clients, copyBucket);
    const deadLetter = directoryDeadLetter();
    const config = testRelayConfig(names, { deadLetter });
    const archive = config.sinks[0] as Record<string, unknown>;
    config.sinks.push({ ...archive, name: 'copy', bucket: copyBucket } as never);
    const configPath = writeConfig(config);

    // decode_failed: owed to both sinks. sink_gave_up of `copy`: owed to `copy` only.
    const dir = join(deadLetter.path, 'events', '2026', '12', '01');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'owed-to-both.jsonl'),
      `${JSON.stringify(entry(1, {}))}\n${JSON.stringify(entry(2, {}))}\n`,
    );
    writeFileSync(
      join(dir, 'owed-to-copy.jsonl'),
      `${JSON.stringify(entry(3, { reason: 'sink_gave_up', sink: 'copy' }))}\n`,
    );

    const replayed = await runCli([
      'dead-letter',
      'replay',
      '--config',
      configPath,
      '--sink',
      'archive',
      '--delete-replayed',
    ]);
    // Sent to archive, as asked ...
    expect((await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket)).length).toBe(3);
    // ... but `copy` never got them: every entry must still be there to replay to it.
    expect(
      readDeadLetters(deadLetter.path)
        .map((e) => e.sequenceNumber)
        .sort(),
    ).toEqual(['49000001', '49000002', '49000003']);
    expect(replayed.output).toContain('kept');
  });
});
