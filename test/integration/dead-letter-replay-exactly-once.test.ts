import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeadLetterEntry } from '../../src/sinks/sink.js';
import { directoryDeadLetter, readDeadLetters } from '../support/dead-letters.js';
import { testRelayConfig, type ArchivedLine } from '../support/relay-config.js';
import { runCli, writeConfig } from '../support/relay-process.js';
import { readJsonLines } from '../support/s3-reader.js';
import { createBucket, uniqueName, useTestStack } from '../support/stack.js';

/** Dead-letter entries as the relay writes them: JSON records it could not decode as `raw`… */
function entries(count: number, shards: number): DeadLetterEntry[] {
  return Array.from({ length: count }, (_, n) => ({
    stream: 'events',
    shardId: `shardId-${String(n % shards).padStart(12, '0')}`,
    sequenceNumber: (
      49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n + BigInt(n)
    ).toString(),
    subSequenceNumber: 0,
    partitionKey: `pk-${n}`,
    arrivalTime: new Date(Date.UTC(2026, 10, 22, 12, 0, 0) + n).toISOString(),
    reason: 'decode_failed' as const,
    error: 'not JSON: the stream was labelled wrongly',
    sink: null,
    data: Buffer.from(JSON.stringify({ n, payload: `record ${n}` })).toString('base64'),
  }));
}

describe('dead-letter replay into an exactly-once S3 sink', () => {
  const test = useTestStack();

  it('replay into an exactly-once sink writes every replayed record before it exits 0', async () => {
    const names = {
      stream: 'unused',
      table: uniqueName('dlq-eo'),
      bucket: uniqueName('dlq-eo-archive'),
    };
    await createBucket(test.clients, names.bucket);
    const deadLetter = directoryDeadLetter();
    const replayed = entries(120, 3);
    const directory = join(deadLetter.path, '2026', '11', '22', '12');
    mkdirSync(directory, { recursive: true });
    writeFileSync(
      join(directory, 'dead-letter-20261122T120000-0badcafe.jsonl'),
      replayed.map((entry) => `${JSON.stringify(entry)}\n`).join(''),
    );
    const config = testRelayConfig(names, { deadLetter, decode: { format: 'json' } });
    Object.assign(config.sinks[0] as object, {
      exactlyOnce: true,
      idleFlushMs: 20_000,
      buffer: { maxRecords: 50, maxBytes: 262_144, maxAgeMs: 60_000 },
    });
    const configPath = writeConfig(config);

    const result = await runCli([
      'dead-letter',
      'replay',
      '--config',
      configPath,
      '--delete-replayed',
    ]);
    expect(result.output).toContain('replayed 120: 120 delivered, 0 dead-lettered again');
    expect(result.code, result.output).toBe(0);
    const archived = await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket);
    expect(archived.map((line) => line.original.n).sort((a, b) => a - b)).toEqual(
      replayed.map((_, n) => n),
    );
    expect(readDeadLetters(deadLetter.path)).toEqual([]);

    // Replayed again (the file restored): the same objects, rewritten with the same bytes.
    mkdirSync(directory, { recursive: true });
    writeFileSync(
      join(directory, 'dead-letter-20261122T120000-0badcafe.jsonl'),
      replayed.map((entry) => `${JSON.stringify(entry)}\n`).join(''),
    );
    const again = await runCli(['dead-letter', 'replay', '--config', configPath]);
    expect(again.code, again.output).toBe(0);
    expect(await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket)).toHaveLength(120);
  });
});
