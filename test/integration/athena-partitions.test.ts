import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { isS3Sink } from '../../src/config/schema.js';
import type { RelayEvent } from '../../src/core/event.js';
import { useS3rver } from '../support/s3rver.js';
import { csvShapeFor } from '../../src/decode/index.js';
import { positionId } from '../../src/decode/record-id.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createS3Sink } from '../../src/sinks/s3/create-s3-sink.js';
import { EventEncoder } from '../../src/sinks/s3/event-encoder.js';
import { KeyLayout } from '../../src/sinks/s3/key-layout.js';
import { downloadBucket, openDuckDb, sqlString, type DuckDb } from '../support/duckdb.js';
import { AckCounter, writeAll } from '../support/events.js';
import { uniqueName } from '../support/stack.js';

const ARRIVAL = Date.parse('2026-03-04T12:00:00Z');
const HOURS = ['2026-03-04T09', '2026-03-04T10', '2026-03-04T11'] as const;

/** A Pinpoint-like event whose own time is `occurred`, arriving at `arrivalMs`. */
function event(n: number, occurred: string, arrivalMs: number): RelayEvent {
  const record = {
    streamName: 'events',
    shardId: 'shardId-000000000000',
    sequenceNumber: String(49_650_000_000_000_000_000n + BigInt(n)),
    subSequenceNumber: 0,
    partitionKey: `pk-${n}`,
    aggregated: false,
    approximateArrivalTimestamp: new Date(arrivalMs),
    data: Buffer.from(`{"n":${n}}`),
  };
  return {
    id: positionId(record),
    type: '_session.start',
    occurred,
    format: 'pinpoint',
    appId: 'app-1',
    deviceId: `device-${n}`,
    userId: null,
    attributes: {},
    metrics: { n },
    original: { n },
    record,
  };
}

describe('Hive partitions by event time (partitionBy: event, layout: athena)', () => {
  const storage = useS3rver();
  let duck: DuckDb;

  beforeAll(async () => {
    duck = await openDuckDb();
  });
  afterAll(() => duck?.close());

  function sink(bucket: string, exactlyOnce: boolean) {
    const config = validateConfig(
      {
        application: 'partitions',
        stream: { name: 'events' },
        sinks: [
          {
            name: 'lake',
            type: 's3',
            bucket,
            format: 'parquet',
            layout: 'athena',
            partitionBy: 'event',
            exactlyOnce,
            buffer: { maxRecords: 10_000, maxBytes: 16_777_216, maxAgeMs: 60_000 },
          },
        ],
      },
      'test',
      {},
    );
    const sinkConfig = config.sinks[0];
    if (!sinkConfig || !isS3Sink(sinkConfig)) throw new Error('unreachable');
    return createS3Sink(sinkConfig, 'auto', {
      s3: storage.clients.s3,
      layout: new KeyLayout({ ...sinkConfig, sinkName: sinkConfig.name }),
      encoder: new EventEncoder(sinkConfig.format, false, csvShapeFor),
      deadLetter: null,
      metrics: createMetrics(),
      log: createLogger('silent'),
    });
  }

  it.each([false, true])(
    'events of three hours land in their hours; a late one in its own old partition, in a new object (exactlyOnce: %s)',
    async (exactlyOnce) => {
      const bucket = uniqueName('partitions');
      await storage.createBucket(bucket);
      const relay = sink(bucket, exactlyOnce);
      const acks = new AckCounter();
      // 30 events per hour, arriving in one minute of record time.
      const onTime = Array.from({ length: 90 }, (_, n) =>
        event(n, `${HOURS[n % 3]}:${String(n % 60).padStart(2, '0')}:00.000Z`, ARRIVAL + n * 10),
      );
      // The late one arrives in a later window (it cuts the exactly-once segment before it).
      const late = event(90, `${HOURS[0]}:59:59.999Z`, ARRIVAL + 120_000);
      const closer = event(91, '2026-03-04T12:01:00Z', ARRIVAL + 240_000);
      await writeAll(relay, onTime, acks);
      const dir = mkdtempSync(join(tmpdir(), 'athena-partitions-'));
      const before = await downloadBucket(storage.clients.s3, bucket, join(dir, 'before'));
      // The default sink writes on flush; the exactly-once one once a later window proves it complete.
      await writeAll(relay, [late, closer], acks);
      await relay.close();
      const after = await downloadBucket(storage.clients.s3, bucket, join(dir, 'after'));

      if (!exactlyOnce) {
        expect([...before.keys()].sort()).toEqual([
          expect.stringMatching(/^events\/dt=2026-03-04\/hour=09\/lake-.*\.parquet$/),
          expect.stringMatching(/^events\/dt=2026-03-04\/hour=10\/lake-.*\.parquet$/),
          expect.stringMatching(/^events\/dt=2026-03-04\/hour=11\/lake-.*\.parquet$/),
        ]);
      }
      // No object written before the late event was changed by it.
      for (const [key, bytes] of before) expect(after.get(key)?.equals(bytes)).toBe(true);
      const hour9 = [...after.keys()].filter((key) => key.includes('hour=09/'));
      expect(hour9).toHaveLength(2);

      const files = sqlString(join(dir, 'after', '**', '*.parquet'));
      const rows = await duck.query(
        `SELECT CAST(dt AS VARCHAR) AS dt, hour, count(*) AS n, min(occurred) AS first, max(occurred) AS last
           FROM read_parquet(${files}, hive_partitioning = true)
          GROUP BY dt, hour ORDER BY dt, hour`,
      );
      expect(rows).toEqual([
        {
          dt: '2026-03-04',
          hour: '09',
          n: 31n,
          first: new Date('2026-03-04T09:00:00Z'),
          last: new Date('2026-03-04T09:59:59.999Z'),
        },
        {
          dt: '2026-03-04',
          hour: '10',
          n: 30n,
          first: new Date('2026-03-04T10:01:00Z'),
          last: new Date('2026-03-04T10:58:00Z'),
        },
        {
          dt: '2026-03-04',
          hour: '11',
          n: 30n,
          first: new Date('2026-03-04T11:02:00Z'),
          last: new Date('2026-03-04T11:59:00Z'),
        },
        ...(exactlyOnce
          ? [] // the last segment is incomplete: it stays for the next reader
          : [
              {
                dt: '2026-03-04',
                hour: '12',
                n: 1n,
                first: new Date('2026-03-04T12:01:00Z'),
                last: new Date('2026-03-04T12:01:00Z'),
              },
            ]),
      ]);
      expect(acks.acked).toBe(exactlyOnce ? 91 : 92);
      expect(acks.doubles).toBe(0);
    },
    120_000,
  );
});
