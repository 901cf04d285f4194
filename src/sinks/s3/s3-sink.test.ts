import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directoryDeadLetter, readDeadLetters } from '../../../test/support/dead-letters.js';
import { AckCounter, quietSinkDeps, testEvents } from '../../../test/support/events.js';
import { startFaultProxy, type FaultProxy } from '../../../test/support/fault-proxy.js';
import { eventually } from '../../../test/support/stack.js';
import { useS3rver } from '../../../test/support/s3rver.js';
import { validateConfig } from '../../config/load.js';
import type { RelayEvent } from '../../core/event.js';
import { csvShapeFor } from '../../decode/csv-columns.js';
import { createSinks } from '../create-sinks.js';
import type { DeadLetterSink, Sink } from '../sink.js';
import { PageChunker } from '../../pipeline/workers/page-chunker.js';
import { chunkerSpec } from '../../pipeline/workers/worker-spec.js';
import { userRecord } from '../../../test/support/user-record.js';

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

describe('S3 call deadlines', () => {
  // s3rver behind a proxy that can answer a call one header byte at a time: the connection
  // is never idle, so only a whole-call deadline ends such a call.
  let proxy: FaultProxy;
  let client: S3Client;
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: storage.endpoint });
    client = new S3Client({
      region: 'us-east-1',
      endpoint: proxy.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
  });
  afterAll(async () => {
    client.destroy();
    await proxy.close();
  });

  function proxiedSink(
    prefix: string,
    retry: object,
    deadLetter?: { type: 'directory'; path: string },
  ) {
    const config = validateConfig(
      {
        application: 's3-deadline-test',
        stream: { name: 'events', initialPosition: 'TRIM_HORIZON' },
        ...(deadLetter ? { deadLetter } : {}),
        sinks: [
          {
            name: 'archive',
            type: 's3',
            bucket: 'archive',
            prefix,
            format: 'jsonl',
            layout: 'flat/',
            compression: 'none',
            callTimeoutMs: 1_000,
            retry: { initialDelayMs: 50, maxDelayMs: 200, ...retry },
          },
        ],
      },
      's3-deadline-test',
      {},
    );
    const set = createSinks(config, { s3: client, csvShapeFor, ...quietSinkDeps() });
    const sink = set.sinks[0]?.sink;
    if (!sink) throw new Error('no sink');
    return { sink, deadLetter: set.deadLetter, config };
  }

  /** `write`, then everything flushed and closed; the fault removed whatever happens. */
  async function writeAndClose(
    sink: Sink,
    deadLetter: DeadLetterSink,
    fault: { remove(): void },
    write: () => void,
  ): Promise<void> {
    try {
      write();
      await sink.flush();
      await deadLetter.flush();
      await sink.close();
      await deadLetter.close();
    } finally {
      fault.remove();
    }
  }

  const trickledPuts = (prefix: string) => (operation: string) =>
    operation.startsWith(`PUT /archive/${prefix}`);

  it('an upload whose answer trickles is abandoned at its deadline and retried until delivered', async () => {
    const trickle = proxy.inject({
      match: trickledPuts('trickled/'),
      fault: { kind: 'trickle', everyMs: 100 },
      times: 2,
    });
    const { sink } = proxiedSink('trickled/', {});
    const acks = new AckCounter();
    const events = testEvents(10, { perRecord: 1 });
    for (const event of events) sink.write(event, acks.handle());
    await sink.flush();
    await sink.close();

    expect(trickle.hits).toBe(2);
    expect(acks.acked).toBe(10);
    expect(acks.doubles).toBe(0);
    // The abandoned calls' connections were closed, not left trickling.
    await eventually('the trickled connections closed', async () =>
      proxy.trickling() === 0 ? true : undefined,
    );
    const objects = [...(await objectsUnder('trickled/')).values()];
    expect(objects).toHaveLength(1);
    const lines = objects[0]?.toString().split('\n').filter(Boolean) ?? [];
    expect(lines).toHaveLength(10);
    for (const event of events) {
      expect(lines.filter((line) => line.includes(event.id))).toHaveLength(1);
    }
  }, 60_000);

  it('a multipart upload whose CreateMultipartUpload trickles is abandoned and retried until delivered', async () => {
    // Above 5 MiB lib-storage uploads in parts: its calls get deadlines too.
    const trickle = proxy.inject({
      match: (operation) => operation.startsWith('POST /archive/multipart/'),
      fault: { kind: 'trickle', everyMs: 100 },
      times: 1,
    });
    const { sink } = proxiedSink('multipart/', {});
    const acks = new AckCounter();
    const padding = 'x'.repeat(10_000);
    const events = testEvents(600, { perRecord: 1 }).map((event) => ({
      ...event,
      attributes: { ...event.attributes, padding },
    }));
    for (const event of events) sink.write(event, acks.handle());
    await sink.flush();
    await sink.close();

    expect(trickle.hits).toBe(1);
    expect(acks.acked).toBe(600);
    const objects = [...(await objectsUnder('multipart/')).values()];
    expect(objects).toHaveLength(1);
    expect(objects[0]?.byteLength).toBeGreaterThan(5 * 1024 * 1024);
    const lines = objects[0]?.toString().split('\n').filter(Boolean) ?? [];
    expect(new Set(lines.map((line) => (JSON.parse(line) as { id: string }).id)).size).toBe(600);
  }, 60_000);

  it('an upload that trickles on every attempt is dead-lettered once its attempts run out', async () => {
    const trickle = proxy.inject({
      match: trickledPuts('always/'),
      fault: { kind: 'trickle', everyMs: 100 },
    });
    const destination = directoryDeadLetter();
    const { sink, deadLetter } = proxiedSink('always/', { maxAttempts: 2 }, destination);
    const acks = new AckCounter();
    const events = testEvents(10, { perRecord: 1 });
    await writeAndClose(sink, deadLetter, trickle, () => {
      for (const event of events) sink.write(event, acks.handle());
    });

    expect(trickle.hits).toBe(2);
    expect(acks.acked).toBe(10);
    const entries = readDeadLetters(destination.path);
    expect(entries.map((entry) => entry.reason)).toEqual(Array(10).fill('sink_gave_up'));
    for (const entry of entries) expect(entry.error).toMatch(/^PutObject did not finish within/);
    expect(new Set(entries.map((entry) => entry.sequenceNumber)).size).toBe(10);
    expect(await objectsUnder('always/')).toEqual(new Map());
  }, 60_000);

  it('a batch of page chunks that gives up dead-letters each event with its record, then acknowledges the page', async () => {
    const trickle = proxy.inject({
      match: trickledPuts('chunks/'),
      fault: { kind: 'trickle', everyMs: 100 },
    });
    const destination = directoryDeadLetter();
    const { sink, deadLetter, config } = proxiedSink('chunks/', { maxAttempts: 1 }, destination);
    const spec = chunkerSpec('auto', { streamInIds: false }, config.sinks, true);
    if (!spec) throw new Error('the sink takes chunks');
    const records = Array.from({ length: 5 }, (_, n) =>
      userRecord({
        sequenceNumber: `4959033827149025660855969253836157109592157598913658${8890 + n}`,
        partitionKey: `device-${n}`,
        approximateArrivalTimestamp: new Date(1_700_000_000_000 + n),
        data: new Uint8Array(Buffer.from(JSON.stringify({ n, event_type: 'tap' }))),
      }),
    );
    const page = await new PageChunker(spec).chunkRecords(records, null, {
      nextIterator: null,
      millisBehindLatest: null,
      kinesisRecords: records.length,
    });
    expect(page.chunks).toHaveLength(1);
    const acks = new AckCounter();
    await writeAndClose(sink, deadLetter, trickle, () => {
      for (const chunk of page.chunks) sink.writeChunk?.(chunk, acks.handle());
    });

    expect(trickle.hits).toBe(1);
    expect(acks).toMatchObject({ acked: 1, doubles: 0 });
    const entries = readDeadLetters(destination.path);
    expect(entries.map(({ reason, sink: name }) => [reason, name])).toEqual(
      Array(5).fill(['sink_gave_up', 'archive']),
    );
    expect(
      entries.map(({ sequenceNumber, partitionKey, shardId, arrivalTime, data }) => ({
        sequenceNumber,
        partitionKey,
        shardId,
        arrivalTime,
        data,
      })),
    ).toEqual(
      records.map((record) => ({
        sequenceNumber: record.sequenceNumber,
        partitionKey: record.partitionKey,
        shardId: record.shardId,
        arrivalTime: record.approximateArrivalTimestamp.toISOString(),
        data: Buffer.from(record.data).toString('base64'),
      })),
    );
    expect(await objectsUnder('chunks/')).toEqual(new Map());
  }, 60_000);
});
