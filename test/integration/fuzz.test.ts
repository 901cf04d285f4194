import { describe, expect, it } from 'vitest';
import { createStream, putAll, type OutgoingRecord } from '../../src/demo/producer.js';
import { createDecoder } from '../../src/decode/index.js';
import { MA_BATCH, PINPOINT_APP_EVENT, userRecord } from '../../src/decode/fixtures/samples.js';
import { directoryDeadLetter, readDeadLetters } from '../support/dead-letters.js';
import { numberedRecord } from '../support/records.js';
import { testRelayConfig } from '../support/relay-config.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';
import { readJsonLines } from '../support/s3-reader.js';
import {
  createBucket,
  uniqueName,
  useTestStack,
  waitForPutsCheckpointed,
} from '../support/stack.js';

const TOTAL = 10_000;

/** A small deterministic PRNG (mulberry32), so a failing run can be reproduced. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = 'valid' | 'random-bytes' | 'truncated-json' | 'wrong-types' | 'oversized-field';

/** One record of the given kind; `n` keeps every record distinct. */
function recordOf(kind: Kind, n: number, next: () => number): OutgoingRecord {
  const partitionKey = `fuzz-${n % 101}`;
  const json = (value: unknown) => ({ partitionKey, data: Buffer.from(JSON.stringify(value)) });
  switch (kind) {
    case 'valid':
      return next() < 0.5
        ? numberedRecord(n)
        : json({ ...PINPOINT_APP_EVENT, event_timestamp: 1_700_000_000_000 + n });
    case 'random-bytes': {
      // A leading byte no JSON text starts with, then noise.
      const bytes = Buffer.alloc(1 + Math.floor(next() * 200));
      for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(next() * 256);
      bytes[0] = 0xff;
      return { partitionKey, data: bytes };
    }
    case 'truncated-json': {
      const text = JSON.stringify({ ...PINPOINT_APP_EVENT, n });
      return {
        partitionKey,
        data: Buffer.from(text.slice(0, 1 + Math.floor(next() * (text.length - 2)))),
      };
    }
    case 'wrong-types':
      // Claims to be Pinpoint (event_type + application) but its timestamp is a word.
      return json({ ...PINPOINT_APP_EVENT, event_timestamp: `yesterday ${n}` });
    case 'oversized-field':
      // A Mobile Analytics attribute value over the 200 characters the reference allows.
      return json({
        ...MA_BATCH,
        events: [{ ...MA_BATCH.events[0], attributes: { LevelName: 'x'.repeat(201 + (n % 50)) } }],
      });
  }
}

describe('fuzz: bad records mixed into valid traffic', () => {
  const test = useTestStack();

  it(`${TOTAL.toLocaleString('en')} records: never crashes, every bad one dead-lettered with its position, every good one delivered`, async () => {
    const next = random(20261122);
    const kinds: Kind[] = ['random-bytes', 'truncated-json', 'wrong-types', 'oversized-field'];
    const planned = Array.from({ length: TOTAL }, (_, n) => {
      const kind: Kind =
        next() < 0.7 ? 'valid' : (kinds[Math.floor(next() * kinds.length)] ?? 'valid');
      return { kind, record: recordOf(kind, n, next) };
    });
    // Each kind is what it claims to be, judged by the decoder the relay runs (auto).
    const auto = createDecoder('auto');
    for (const { kind, record } of planned) {
      expect(auto.decode(userRecord(record.data)).ok, kind).toBe(kind === 'valid');
    }

    const names = {
      stream: uniqueName('fuzz'),
      table: uniqueName('fuzz-leases'),
      bucket: uniqueName('fuzz-archive'),
    };
    await createStream(test.clients.kinesis, names.stream, 4);
    await createBucket(test.clients, names.bucket);
    const put = await putAll(
      test.clients.kinesis,
      names.stream,
      planned.map((p) => p.record),
    );
    const deadLetter = directoryDeadLetter();
    const relay = startRelayProcess([
      'run',
      '--config',
      writeConfig(testRelayConfig(names, { deadLetter })),
    ]);
    const startedAt = Date.now();
    try {
      await waitForPutsCheckpointed(test.clients, names.table, put, 240_000);
      const seconds = (Date.now() - startedAt) / 1000;
      expect(relay.child.exitCode, relay.output().slice(-2000)).toBeNull();
      console.log(
        `fuzz: ${TOTAL} records checkpointed in ${seconds.toFixed(1)} s from process start (${Math.round(TOTAL / seconds)} records/s)`,
      );
    } finally {
      relay.child.kill('SIGTERM');
    }
    expect(await relay.exited).toBe(0);

    const position = (shardId: string, sequenceNumber: string) => `${shardId}/${sequenceNumber}`;
    const bad = new Set<string>();
    const good = new Set<string>();
    planned.forEach(({ kind }, i) => {
      const result = put[i];
      if (result)
        (kind === 'valid' ? good : bad).add(position(result.shardId, result.sequenceNumber));
    });

    const entries = readDeadLetters(deadLetter.path);
    const deadLettered = new Set(entries.map((e) => position(e.shardId, e.sequenceNumber)));
    expect(deadLettered).toEqual(bad);
    expect(entries.every((e) => e.reason === 'decode_failed' && e.error.length > 0)).toBe(true);

    const delivered = new Set(
      (
        await readJsonLines<{ kinesis: { shard_id: string; sequence_number: string } }>(
          test.clients.s3,
          names.bucket,
        )
      ).map((line) => position(line.kinesis.shard_id, line.kinesis.sequence_number)),
    );
    expect(delivered).toEqual(good);
    console.log(
      `fuzz: ${bad.size} bad records dead-lettered (expected ${bad.size}), ${good.size} good delivered`,
    );
  });
});
