import { mkdtempSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStream, putAll, type OutgoingRecord } from '../../src/demo/producer.js';
import { readDeadLetters } from '../support/dead-letters.js';
import { testRelayConfig } from '../support/relay-config.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';
import {
  createBucket,
  eventually,
  uniqueName,
  useTestStack,
  waitForPutsCheckpointed,
} from '../support/stack.js';

const RECORD_BYTES = 2000;
/** An upper estimate of what one entry of such a record holds: base64 data, error, 1 KiB. */
const ENTRY_BYTES = 4096;

/** Not JSON (the first byte is 0xff): `auto` cannot decode it, so it is dead-lettered. */
function undecodable(n: number): OutgoingRecord {
  const data = Buffer.alloc(RECORD_BYTES, n % 200);
  data[0] = 0xff;
  return { partitionKey: `bad-${n}`, data };
}

function metricValue(text: string, name: string): number | undefined {
  const values = text
    .split('\n')
    .filter((line) => line.startsWith(name) && !line.startsWith('#'))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
  return values.length > 0 ? values.reduce((sum, value) => sum + value, 0) : undefined;
}

describe('dead-letter backpressure', () => {
  const test = useTestStack();

  it('with the dead-letter store down, the writer holds no more than its bound; everything is stored and checkpointed once it is back', async () => {
    const names = {
      stream: uniqueName('dlq-bound'),
      table: uniqueName('dlq-bound-leases'),
      bucket: uniqueName('dlq-bound-archive'),
    };
    await createStream(test.clients.kinesis, names.stream, 1);
    await createBucket(test.clients, names.bucket);
    const count = 600;
    const put = await putAll(
      test.clients.kinesis,
      names.stream,
      Array.from({ length: count }, (_, i) => undecodable(i)),
    );

    // The store is "down": its directory sits under a regular file, so every write fails
    // (ENOTDIR, even as root) until the file is removed.
    const root = mkdtempSync(join(tmpdir(), 'kinesis-relay-dlq-down-'));
    const blocker = join(root, 'blocker');
    writeFileSync(blocker, 'not a directory');
    const path = join(blocker, 'dead-letter');
    const maxInFlightBytes = 256 * 1024;
    const pageRecords = 50;
    const configPath = writeConfig(
      testRelayConfig(names, {
        consumer: { idleTimeBetweenReadsMs: 200, maxRecordsPerCall: pageRecords },
        deadLetter: { type: 'directory', path, maxInFlightBytes },
      }),
    );

    const relay = startRelayProcess(['run', '--config', configPath]);
    try {
      const port = await eventually('the metrics port', async () => {
        const match = /"metricsPort":(\d+)/.exec(relay.output());
        return match ? Number(match[1]) : undefined;
      });
      let peakHeld = 0;
      let read = 0;
      const scrape = async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        peakHeld = Math.max(
          peakHeld,
          metricValue(text, 'kinesis_relay_dead_letter_inflight_bytes') ?? Infinity,
        );
        read = metricValue(text, 'kinesis_relay_records_total') ?? 0;
      };
      // Watch while the writer retries its first file five times: long after the shard loop
      // would have read the whole shard had nothing held it.
      await eventually(
        'five failed dead-letter writes',
        async () => {
          await scrape();
          const attempts = [...relay.output().matchAll(/"attempt":(\d+)/g)].map((m) =>
            Number(m[1]),
          );
          return Math.max(0, ...attempts) >= 5 ? true : undefined;
        },
        120_000,
        100,
      );
      await scrape();
      // The bound, plus the one page routed before the loop looks at the bound again.
      const allowed = maxInFlightBytes + pageRecords * ENTRY_BYTES;
      expect(read).toBeLessThan(count);
      expect(read).toBeLessThanOrEqual(allowed / (RECORD_BYTES * 1.33) + pageRecords);
      expect(peakHeld).toBeLessThanOrEqual(allowed);

      // The store comes back: every record is stored and the checkpoint reaches the end.
      unlinkSync(blocker);
      await waitForPutsCheckpointed(test.clients, names.table, put, 180_000);
    } finally {
      relay.child.kill('SIGTERM');
    }
    expect(await relay.exited).toBe(0);
    const entries = readDeadLetters(path);
    expect(new Set(entries.map((e) => e.sequenceNumber))).toEqual(
      new Set(put.map((p) => p.sequenceNumber)),
    );
    expect(entries).toHaveLength(count);
  });
});
