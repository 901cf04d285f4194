import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { directoryDeadLetter, readDeadLetters } from '../../../test/support/dead-letters.js';
import { AckCounter, quietSinkDeps } from '../../../test/support/events.js';
import { userRecord } from '../../../test/support/user-record.js';
import { RelayError } from '../../core/errors.js';
import { deadLetterEntry } from '../dead-letter-entry.js';
import type { DeadLetterEntry } from '../sink.js';
import { DeadLetterWriter, type DeadLetterStore } from './dead-letter-writer.js';
import { directoryDeadLetterStore } from './stores.js';

/** An entry for sequence number `n` whose record holds `dataBytes` bytes. */
function entryFor(n: number, dataBytes = 10): DeadLetterEntry {
  const record = userRecord({ sequenceNumber: String(1000 + n), data: Buffer.alloc(dataBytes, n) });
  return deadLetterEntry(record, 'sink_gave_up', 'the sink gave up', 'archive');
}

/** The real directory store, noting each file's key and body size in the order stored. */
function recordingDirectoryStore(root: string) {
  const store = directoryDeadLetterStore(root);
  const puts: Array<{ key: string; bytes: number; lines: number }> = [];
  const recording: DeadLetterStore = {
    description: store.description,
    async put(key, body) {
      await store.put(key, body);
      const lines = body.toString('utf8').split('\n').length - 1;
      puts.push({ key, bytes: body.length, lines });
    },
  };
  return { store: recording, puts };
}

describe('DeadLetterWriter', () => {
  it('files cut in the same second carry 64 random bits in their names', async () => {
    // Several replicas writing one prefix in a poison-record storm cut many files a second;
    // with names that differ only in 32 random bits, 100 files a second met a same-name
    // pair about every 10 days, and the second PUT replaced entries already checkpointed past.
    const { path } = directoryDeadLetter();
    const { metrics, log } = quietSinkDeps();
    const writer = new DeadLetterWriter(directoryDeadLetterStore(path), metrics, log, 1 << 20);
    let acked = 0;
    for (let n = 0; n < 3; n += 1) {
      const record = userRecord({ sequenceNumber: String(1000 + n) });
      writer.write(deadLetterEntry(record, 'decode_failed', 'not JSON'), { ack: () => acked++ });
      await writer.flush();
    }
    await writer.close();
    expect(acked).toBe(3);
    expect(readDeadLetters(path).map((entry) => entry.sequenceNumber)).toHaveLength(3);
    const names = readdirSync(path, { recursive: true })
      .map(String)
      .filter((name) => name.endsWith('.jsonl'));
    expect(names).toHaveLength(3);
    for (const name of names) expect(name).toMatch(/dead-letter-\d{8}T\d{6}-[0-9a-f]{16}\.jsonl$/);
  });

  it('a file is cut by bytes as well as by count, so no body outgrows the per-file cap', async () => {
    // 1,000 entries of ~600 KB records made a body past V8's longest string (~512 MiB):
    // the join threw, and the writer stored nothing more. The cap is 64 MiB in production;
    // 8 KiB here shows the same cut with entries of ~1.4 KiB each.
    const { path } = directoryDeadLetter();
    const { store, puts } = recordingDirectoryStore(path);
    const { metrics, log } = quietSinkDeps();
    const maxFileBytes = 8 * 1024;
    const writer = new DeadLetterWriter(store, metrics, log, 1 << 30, undefined, {
      maxFileBytes,
    });
    const acks = new AckCounter();
    for (let n = 0; n < 40; n += 1) writer.write(entryFor(n, 1024), acks.handle());
    // One entry larger than the cap travels alone in its own file.
    writer.write(entryFor(40, 3 * maxFileBytes), acks.handle());
    writer.write(entryFor(41, 1024), acks.handle());
    await writer.close();

    expect(acks.acked).toBe(42);
    expect(writer.inFlightBytes).toBe(0);
    const big = puts.find((put) => put.bytes > maxFileBytes);
    expect(big?.lines).toBe(1);
    for (const put of puts) if (put !== big) expect(put.bytes).toBeLessThanOrEqual(maxFileBytes);
    expect(puts.length).toBeGreaterThanOrEqual(8);
    // Stored in the order written, every entry once.
    const sequences = puts.flatMap(({ key }) =>
      readFileSync(join(path, key), 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => Number((JSON.parse(line) as DeadLetterEntry).sequenceNumber) - 1000),
    );
    expect(sequences).toEqual(Array.from({ length: 42 }, (_, n) => n));
  });

  it('a persist that throws does not stop later entries from being stored and acknowledged', async () => {
    // A rejected persist used to leave the writer's chain rejected for good: nothing later
    // was stored or acknowledged (every shard's checkpoint stopped) and its bytes stayed
    // counted against the memory budget. Here the file's "records dead-lettered" line
    // throws once (a logger whose destination fails), after the file is stored: only the
    // writer chain's catch keeps the next file going. A handle that throws (a sink's bug)
    // is caught by the file's acknowledge, and its file's other entry is acknowledged.
    const { path } = directoryDeadLetter();
    const { metrics, log } = quietSinkDeps();
    let warnings = 0;
    const warn = log.warn.bind(log);
    log.warn = ((...args: Parameters<typeof log.warn>) => {
      warnings += 1;
      if (warnings === 1) throw new Error('the log destination failed');
      warn(...args);
    }) as typeof log.warn;
    const writer = new DeadLetterWriter(directoryDeadLetterStore(path), metrics, log, 1 << 20);
    const acks = new AckCounter();
    writer.write(entryFor(0), {
      ack: () => {
        throw new Error('a buggy acknowledgement handle');
      },
    });
    writer.write(entryFor(1), acks.handle());
    await writer.flush().catch(() => undefined);
    writer.write(entryFor(2), acks.handle());
    await writer.flush().catch(() => undefined);
    await writer.close().catch(() => undefined);

    // The other entry of the failed file and the later one: both acknowledged.
    expect(warnings).toBe(2);
    expect(acks.acked).toBe(2);
    expect(writer.inFlightBytes).toBe(0);
    expect(
      readDeadLetters(path)
        .map((entry) => entry.sequenceNumber)
        .sort(),
    ).toEqual(['1000', '1001', '1002']);
  });

  it('a store that fails with a non-retriable error is retried, never given up', async () => {
    // There is nowhere further to send a dead-letter file: every failure is retried, and
    // the entries after it are stored too.
    const { path } = directoryDeadLetter();
    const real = directoryDeadLetterStore(path);
    let failures = 0;
    const store: DeadLetterStore = {
      description: real.description,
      async put(key, body) {
        if (failures === 0) {
          failures += 1;
          throw new RelayError('REFUSED', 'refused once', { retriable: false });
        }
        await real.put(key, body);
      },
    };
    const { metrics, log } = quietSinkDeps();
    const writer = new DeadLetterWriter(store, metrics, log, 1 << 20);
    const acks = new AckCounter();
    writer.write(entryFor(0), acks.handle());
    await writer.flush();
    writer.write(entryFor(1), acks.handle());
    await writer.close();
    expect(failures).toBe(1);
    expect(acks.acked).toBe(2);
    expect(writer.inFlightBytes).toBe(0);
    expect(readDeadLetters(path)).toHaveLength(2);
  });
});
