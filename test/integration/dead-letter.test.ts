import { describe, expect, it } from 'vitest';
import { createStream, putAll, type OutgoingRecord } from '../../src/demo/producer.js';
import { directoryDeadLetter, readDeadLetters } from '../support/dead-letters.js';
import { startHttpReceiver } from '../support/http-receiver.js';
import { numberedRecord } from '../support/records.js';
import { testRelayConfig, type ArchivedLine } from '../support/relay-config.js';
import { runCli, startRelayProcess, writeConfig } from '../support/relay-process.js';
import { readJsonLines } from '../support/s3-reader.js';
import {
  createBucket,
  uniqueName,
  useTestStack,
  waitForPutsCheckpointed,
} from '../support/stack.js';

/** Bytes that are not JSON at all: what a producer sending its own binary format puts. */
function binaryRecord(n: number): OutgoingRecord {
  return { partitionKey: `bin-${n}`, data: Buffer.from([0xff, 0xfe, n % 256, 0x00, 0x42]) };
}

describe('dead-letter output and replay', () => {
  const replay = (configPath: string, ...flags: string[]) =>
    runCli(['dead-letter', 'replay', '--config', configPath, ...flags]);
  const test = useTestStack();

  it('decode failures land with shard, sequence, time, error and raw bytes; replay with the right format delivers them', async () => {
    const names = {
      stream: uniqueName('dlq'),
      table: uniqueName('dlq-leases'),
      bucket: uniqueName('dlq-archive'),
    };
    await createStream(test.clients.kinesis, names.stream, 2);
    await createBucket(test.clients, names.bucket);
    const records = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 0 ? binaryRecord(i) : numberedRecord(i),
    );
    const put = await putAll(test.clients.kinesis, names.stream, records);
    const deadLetter = directoryDeadLetter();
    const deadLetterDir = deadLetter.path;
    const configPath = writeConfig(testRelayConfig(names, { deadLetter }));

    const relay = startRelayProcess(['run', '--config', configPath]);
    try {
      // The checkpoint passes the bad records: they are stored, not blocking.
      await waitForPutsCheckpointed(test.clients, names.table, put);
      const port = Number(/"metricsPort":(\d+)/.exec(relay.output())?.[1]);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(
        /kinesis_relay_dead_letter_records_total\{reason="decode_failed"\} 100/,
      );
    } finally {
      relay.child.kill('SIGTERM');
    }
    expect(await relay.exited).toBe(0);

    const entries = readDeadLetters(deadLetterDir);
    expect(entries).toHaveLength(100);
    const badPuts = put.filter((_, i) => i % 3 === 0);
    for (const [index, result] of badPuts.entries()) {
      const entry = entries.find((e) => e.sequenceNumber === result.sequenceNumber);
      expect(entry, `entry for record ${index * 3}`).toMatchObject({
        stream: names.stream,
        shardId: result.shardId,
        subSequenceNumber: 0,
        partitionKey: `bin-${index * 3}`,
        reason: 'decode_failed',
        sink: null,
        data: Buffer.from(binaryRecord(index * 3).data).toString('base64'),
      });
      expect(entry?.error).toMatch(/JSON/i);
      expect(Date.parse(entry?.arrivalTime ?? '')).not.toBeNaN();
    }
    const archived = await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket);
    expect(archived).toHaveLength(200);

    // A dry run counts and sends nothing.
    const dry = await replay(configPath, '--format', 'raw', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.output).toContain('100 entries to replay from');
    expect(dry.output).toContain('100 × decode_failed');
    expect(await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket)).toHaveLength(200);

    // The records were fine, the format was wrong: replay them as raw bytes.
    const replayed = await replay(configPath, '--format', 'raw', '--delete-replayed');
    expect(replayed.code, replayed.output).toBe(0);
    expect(replayed.output).toContain('replayed 100: 100 delivered, 0 dead-lettered again');
    const after = await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket);
    expect(after).toHaveLength(300);
    const positions = new Set(
      after.map((l) => `${l.kinesis.shard_id}/${l.kinesis.sequence_number}`),
    );
    for (const result of badPuts) {
      expect(positions.has(`${result.shardId}/${result.sequenceNumber}`)).toBe(true);
    }
    expect(readDeadLetters(deadLetterDir)).toEqual([]);
  });

  it('a batch a sink rejected goes back to that sink only, once it accepts', async () => {
    const names = {
      stream: uniqueName('dlq-sink'),
      table: uniqueName('dlq-sink-leases'),
      bucket: uniqueName('dlq-sink-archive'),
    };
    await createStream(test.clients.kinesis, names.stream, 1);
    await createBucket(test.clients, names.bucket);
    let accepting = false;
    const receiver = await startHttpReceiver(() =>
      accepting ? { status: 200 } : { status: 400, body: 'schema mismatch' },
    );
    try {
      const records = Array.from({ length: 50 }, (_, i) => numberedRecord(i));
      const put = await putAll(test.clients.kinesis, names.stream, records);
      const deadLetter = directoryDeadLetter();
      const deadLetterDir = deadLetter.path;
      const base = testRelayConfig(names, {
        deadLetter,
      });
      const configPath = writeConfig({
        ...base,
        sinks: [
          ...base.sinks,
          {
            name: 'hooks',
            type: 'webhook',
            url: receiver.url,
            buffer: { maxRecords: 100, maxBytes: 1_048_576, maxAgeMs: 200 },
            retry: { initialDelayMs: 50, maxDelayMs: 200, maxElapsedMs: 2000 },
          },
        ],
      });
      const relay = startRelayProcess(['run', '--config', configPath]);
      try {
        await waitForPutsCheckpointed(test.clients, names.table, put);
      } finally {
        relay.child.kill('SIGTERM');
      }
      expect(await relay.exited).toBe(0);
      const entries = readDeadLetters(deadLetterDir);
      expect(entries).toHaveLength(50);
      expect(new Set(entries.map((e) => `${e.reason}/${e.sink}`))).toEqual(
        new Set(['sink_rejected/hooks']),
      );
      expect(await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket)).toHaveLength(50);

      accepting = true;
      const before = receiver.requests.length;
      const replayed = await replay(configPath);
      expect(replayed.code, replayed.output).toBe(0);
      expect(replayed.output).toContain('replayed 50: 50 delivered, 0 dead-lettered again');
      const delivered = receiver.requests
        .slice(before)
        .filter((r) => r.status === 200)
        .flatMap((r) => JSON.parse(r.body.toString('utf8')) as Array<{ original: { n: number } }>);
      expect(delivered.map((e) => e.original.n).sort((a, b) => a - b)).toEqual(
        records.map((_, i) => i),
      );
      // The archive already had them: not sent there again.
      expect(await readJsonLines<ArchivedLine>(test.clients.s3, names.bucket)).toHaveLength(50);
    } finally {
      await receiver.close();
    }
  });

  it('refuses bad flags and a missing destination with exit 2', async () => {
    const names = { stream: 'unused', table: uniqueName('dlq-flags'), bucket: 'unused-bucket' };
    const withDestination = writeConfig(
      testRelayConfig(names, {
        deadLetter: directoryDeadLetter(),
      }),
    );
    const badReason = await replay(withDestination, '--reason', 'bored');
    expect(badReason.code).toBe(2);
    expect(badReason.output).toContain("--reason: 'bored'");
    const badSink = await replay(withDestination, '--sink', 'nope');
    expect(badSink.code).toBe(2);
    expect(badSink.output).toContain("--sink: no sink named 'nope'");
    const none = await replay(writeConfig(testRelayConfig(names)));
    expect(none.code).toBe(2);
    expect(none.output).toContain('deadLetter: not configured');
    // And an empty destination is nothing to do, not an error.
    const empty = await replay(withDestination);
    expect(empty.code, empty.output).toBe(0);
    expect(empty.output).toContain('0 entries to replay');
  });
});
