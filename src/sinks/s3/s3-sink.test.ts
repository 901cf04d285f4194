import { S3Client } from '@aws-sdk/client-s3';
import type { HttpHandler, HttpRequest } from '@smithy/core/protocols';
import { HttpResponse } from '@smithy/core/transport';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AckCounter, quietSinkDeps, testEvents } from '../../../test/support/events.js';
import { validateConfig } from '../../config/load.js';
import type { RelayEvent } from '../../core/event.js';
import { csvShapeFor } from '../../decode/csv-columns.js';
import { createSinks } from '../create-sinks.js';

/*
 * The S3 sink reuses the previous event's batch key while kind, CSV shape, hour and
 * directory stay the same (s3-sink.ts, batchKey): events that differ in any of them must
 * still land in objects of their own, each line once, in order.
 */

/** An S3 client whose handler keeps every PutObject body by key and answers at once. */
function capturingS3(objects: Map<string, Buffer>): S3Client {
  const handler = {
    handle: async (request: HttpRequest) => {
      const chunks: Buffer[] = [];
      const body: unknown = request.body;
      if (body instanceof Uint8Array) chunks.push(Buffer.from(body));
      else if (typeof body === 'string') chunks.push(Buffer.from(body));
      else if (body && typeof (body as Readable)[Symbol.asyncIterator] === 'function') {
        for await (const chunk of body as Readable) chunks.push(Buffer.from(chunk as Uint8Array));
      }
      objects.set(decodeURIComponent(request.path), Buffer.concat(chunks));
      return {
        response: new HttpResponse({
          statusCode: 200,
          headers: { etag: '"test"' },
          body: Readable.from([]),
        }),
      };
    },
  } as unknown as HttpHandler;
  return new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: handler,
  });
}

function s3Sink(objects: Map<string, Buffer>) {
  const config = validateConfig(
    {
      application: 's3-sink-test',
      stream: { name: 'events', initialPosition: 'TRIM_HORIZON' },
      sinks: [
        {
          name: 'archive',
          type: 's3',
          bucket: 'archive',
          prefix: 'p/',
          format: 'csv',
          // One directory for every event: only the batch key tells hour and shape apart.
          layout: 'flat/',
          compression: 'gzip',
          buffer: { maxRecords: 1_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 60_000 },
        },
      ],
    },
    's3-sink-test',
    {},
  );
  const { sinks } = createSinks(config, {
    s3: capturingS3(objects),
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
    const objects = new Map<string, Buffer>();
    const sink = s3Sink(objects);
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
});
