import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStream, putAll } from '../../src/demo/producer.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { lastPositionPerShard, plannedRecords } from '../support/records.js';
import { testRelayConfig } from '../support/relay-config.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';
import {
  startTestStack,
  uniqueName,
  waitForCheckpoints,
  type TestStack,
} from '../support/stack.js';

/**
 * Both sinks end to end: kinesis-local → relay process → PostgreSQL (the Redshift sink's
 * postgres dialect) and a local webhook receiver, checkpoints in dynalite. Then the whole
 * stream again under a new lease table (every checkpoint lost): the table keeps one row
 * per event; the webhook, at least once, has every event.
 */
describe('relay → redshift sink (postgres dialect) and webhook sink', () => {
  let stack: TestStack;
  let db: TestPostgres;
  let receiver: HttpReceiver;
  const stream = uniqueName('warehouse');
  const table = uniqueName('events').replace('-', '_');

  beforeAll(async () => {
    [stack, db, receiver] = await Promise.all([
      startTestStack(),
      startTestPostgres(),
      startHttpReceiver(() => ({ status: 200 })),
    ]);
    await createStream(stack.clients.kinesis, stream, 2);
  });
  afterAll(async () => {
    await Promise.all([stack?.stop(), db?.destroy(), receiver?.close()]);
  });

  function relayConfig(leaseTable: string) {
    return testRelayConfig(
      { stream, table: leaseTable, bucket: 'unused' },
      {
        sinks: [
          {
            name: 'warehouse',
            type: 'redshift',
            dialect: 'postgres',
            url: db.url,
            table,
            createTable: true,
            buffer: { maxRecords: 2000, maxBytes: 8 * 1024 * 1024, maxAgeMs: 500 },
            retry: { initialDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 600_000 },
          },
          {
            name: 'hooks',
            type: 'webhook',
            url: receiver.url,
            signingSecret: 'relay-test',
            compression: 'gzip',
            buffer: { maxRecords: 500, maxBytes: 1024 * 1024, maxAgeMs: 300 },
          },
        ],
      },
    );
  }

  async function runUntilCheckpointed(
    leaseTable: string,
    expected: Parameters<typeof waitForCheckpoints>[2],
  ) {
    const relay = startRelayProcess(['run', '--config', writeConfig(relayConfig(leaseTable))]);
    await waitForCheckpoints(stack.clients, leaseTable, expected, 180_000);
    relay.child.kill('SIGTERM');
    expect(await relay.exited, relay.output()).toBe(0);
  }

  async function counts() {
    const [row] = await db.query<{ rows: string; records: string }>(
      `SELECT count(*) AS rows, count(DISTINCT (shard_id, sequence_number, sub_sequence_number)) AS records FROM ${table}`,
    );
    return { rows: Number(row?.rows), records: Number(row?.records) };
  }

  it('lands 10,000 events once in the table and all at the webhook; a full replay adds no row', async () => {
    const planned = plannedRecords(0, 10_000, { aggregatedShare: 0.5, perAggregate: 10 });
    // The last record (not aggregated) carries integers beyond 2^53, which must arrive exactly.
    const exact = '{"n":9999,"big":12345678901234567890,"min":-9223372036854775808}';
    const last = planned.records.at(-1);
    if (last) planned.records[planned.records.length - 1] = { ...last, data: Buffer.from(exact) };
    const results = await putAll(stack.clients.kinesis, stream, planned.records);
    const expected = lastPositionPerShard(results, planned.userCounts);

    await runUntilCheckpointed(uniqueName('leases'), expected);
    expect(await counts()).toEqual({ rows: 10_000, records: 10_000 });
    const [sample] = await db.query<{ original: string }>(
      `SELECT original FROM ${table} ORDER BY arrival_time, sequence_number, sub_sequence_number LIMIT 1`,
    );
    expect(JSON.parse(sample?.original ?? '{}')).toHaveProperty('n');
    const exactRows = await db.query<{ original: string }>(
      `SELECT original FROM ${table} WHERE original LIKE '%"big"%'`,
    );
    expect(exactRows.map((row) => row.original)).toEqual([exact]);

    await runUntilCheckpointed(uniqueName('leases'), expected);
    expect(await counts()).toEqual({ rows: 10_000, records: 10_000 });

    const hooked = receiver.requests.flatMap(
      (request) => JSON.parse(request.body.toString()) as Array<{ original: { n: number } }>,
    );
    expect(new Set(hooked.map((event) => event.original.n)).size).toBe(10_000);
    expect(
      receiver.requests.some((request) => request.body.toString().includes(`"original":${exact}}`)),
    ).toBe(true);
    expect(receiver.requests.every((request) => request.headers['x-relay-signature'])).toBe(true);
  });
});
