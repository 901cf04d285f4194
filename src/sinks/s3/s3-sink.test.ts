import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { AckCounter, quietSinkDeps, testEvents } from '../../../test/support/events.js';
import { useS3rver } from '../../../test/support/s3rver.js';
import { validateConfig } from '../../config/load.js';
import type { RelayEvent } from '../../core/event.js';
import { csvShapeFor } from '../../decode/csv-columns.js';
import { createSinks } from '../create-sinks.js';

/*
 * The S3 sink reuses the previous event's batch key while kind, CSV shape, hour and
 * directory stay the same (s3-sink.ts, batchKey): events that differ in any of them must
 * still land in objects of their own, each line once, in order.
 */

const storage = useS3rver();
beforeAll(() => storage.createBucket('archive'));

/** Every object under `prefix`: key -> body as stored. */
async function objectsUnder(prefix: string): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  const page = await storage.clients.s3.send(
    new ListObjectsV2Command({ Bucket: 'archive', Prefix: prefix }),
  );
  for (const entry of page.Contents ?? []) {
    const object = await storage.clients.s3.send(
      new GetObjectCommand({ Bucket: 'archive', Key: entry.Key }),
    );
    objects.set(entry.Key ?? '', Buffer.from(await object.Body!.transformToByteArray()));
  }
  return objects;
}

function s3Sink(maxRecords = 1_000, prefix = 'p/') {
  const config = validateConfig(
    {
      application: 's3-sink-test',
      stream: { name: 'events', initialPosition: 'TRIM_HORIZON' },
      sinks: [
        {
          name: 'archive',
          type: 's3',
          bucket: 'archive',
          prefix,
          format: 'csv',
          // One directory for every event: only the batch key tells hour and shape apart.
          layout: 'flat/',
          compression: 'gzip',
          buffer: { maxRecords, maxBytes: 64 * 1024 * 1024, maxAgeMs: 60_000 },
        },
      ],
    },
    's3-sink-test',
    {},
  );
  const { sinks } = createSinks(config, {
    s3: storage.clients.s3,
    csvShapeFor,
    ...quietSinkDeps(),
  });
  const sink = sinks[0]?.sink;
  if (!sink) throw new Error('no sink');
  return sink;
}

/** `event` arrived `hours` later, as a `raw` event when `raw` (no CSV shape: a JSON line). */
function shifted(event: RelayEvent, hours: number, raw: boolean): RelayEvent {
  const arrival = event.record.approximateArrivalTimestamp.getTime() + hours * 3_600_000;
  return {
    ...event,
    format: raw ? 'raw' : event.format,
    record: { ...event.record, approximateArrivalTimestamp: new Date(arrival) },
  };
}

describe('S3Sink batch keys', () => {
  it('events that alternate hour and CSV shape each land in the object of their own key', async () => {
    const sink = s3Sink();
    const acks = new AckCounter();
    // Four groups, interleaved so consecutive events differ in hour, shape, or both.
    const events = testEvents(400, { perRecord: 1 }).map((event, index) =>
      shifted(event, index % 2, index % 4 >= 2),
    );
    for (const event of events) sink.write(event, acks.handle());
    await sink.flush();
    await sink.close();

    expect(acks.acked).toBe(400);
    expect(acks.doubles).toBe(0);
    const objects = await objectsUnder('p/');
    expect(objects.size).toBe(4);
    const lines = [...objects.values()].map((body) =>
      gunzipSync(body).toString().split('\n').filter(Boolean),
    );
    // 100 events each; CSV objects have a header line as well.
    expect(lines.map((object) => object.length).sort()).toEqual([100, 100, 101, 101]);
    for (const [group, expected] of [0, 1, 2, 3].map((group) => [
      group,
      events.filter((_, index) => index % 4 === group).map((event) => event.id),
    ])) {
      const object = lines.find((candidate) =>
        (expected as string[]).every((id) => candidate.some((line) => line.includes(id))),
      );
      expect(object, `group ${String(group)}`).toBeDefined();
      // In order: each id's line comes after the previous one's.
      const positions = (expected as string[]).map((id) =>
        (object ?? []).findIndex((line) => line.includes(id)),
      );
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
  });

  it('objects of one directory cut in the same second carry 64 random bits in their names', async () => {
    // Names differ only in their random part then: with 32 bits, 20 objects a second in
    // one directory (several replicas writing one prefix) met a same-name pair about once
    // a year, and the second PUT silently replaced an object already acknowledged.
    const sink = s3Sink(1, 'same-second/');
    const acks = new AckCounter();
    const [first] = testEvents(1, { perRecord: 1 });
    if (!first) throw new Error('no event');
    for (let n = 0; n < 3; n += 1) sink.write({ ...first, id: `same-second-${n}` }, acks.handle());
    await sink.flush();
    await sink.close();
    expect(acks.acked).toBe(3);
    const names = [...(await objectsUnder('same-second/')).keys()];
    expect(names).toHaveLength(3);
    for (const name of names) expect(name).toMatch(/-\d\d-[0-9a-f]{16}\.csv\.gz$/);
  });
});
