import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { AckHandle } from '../core/ack.js';
import type { RecordPosition, UserRecord } from '../core/record.js';
import type { RelayEvent } from '../core/event.js';
import { createDecoder } from '../decode/index.js';
import { createLogger } from '../observability/logger.js';
import {
  createMetrics,
  sinkDeadLetterCounter,
  type RelayMetrics,
} from '../observability/metrics.js';
import {
  AIRSHIP_LOCATION,
  AIRSHIP_UNINSTALL,
  PINPOINT_APP_EVENT,
  userRecord,
} from '../decode/fixtures/samples.js';
import { SegmentRanges } from '../sinks/s3/segment-ranges.js';
import type { DeadLetterEntry, DeadLetterSink, Sink } from '../sinks/sink.js';
import { webhookDocument } from '../sinks/webhook/webhook-document.js';
import { Router } from './router.js';
import { ShardPipeline } from './shard-pipeline.js';
import { DecodePool } from './workers/decode-pool.js';
import { packPage, unpackResults } from './workers/page-codec.js';
import { PageDecoder } from './workers/page-decoder.js';
import type { DecodeWorkerSpec } from './workers/worker-spec.js';

/** A sink that holds what it is given until the test acknowledges it. */
class HeldSink implements Sink, DeadLetterSink {
  readonly held: Array<{ item: RelayEvent | DeadLetterEntry; ack: AckHandle }> = [];
  constructor(readonly name: string) {}
  write(item: RelayEvent | DeadLetterEntry, ack: AckHandle): void {
    this.held.push({ item, ack });
  }
  types(): string[] {
    return this.held.map(({ item }) => ('type' in item ? item.type : item.reason));
  }
  ackAll(): void {
    for (const { ack } of this.held.splice(0)) ack.ack();
  }
  waitForCapacity(): undefined {
    return undefined;
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

/** For tests that do not read the metrics. */
const uncounted = () => undefined;

const sequence = (n: number) => String(49_000_000_000n + BigInt(n));
const record = (doc: unknown, n: number) =>
  userRecord(typeof doc === 'string' ? doc : JSON.stringify(doc), {
    sequenceNumber: sequence(n),
  });

describe('ShardPipeline: routing by filter, checkpoint over every sink', () => {
  function setUp() {
    const locations = new HeldSink('locations');
    const airshipOnly = new HeldSink('airship-only');
    const everything = new HeldSink('everything');
    const deadLetter = new HeldSink('dead-letter');
    const router = new Router([
      { sink: locations, eventTypes: ['LOCATION'], formats: [] },
      { sink: airshipOnly, eventTypes: [], formats: ['airship'] },
      { sink: everything, eventTypes: [], formats: [] },
    ]);
    const pipeline = new ShardPipeline(createDecoder('auto'), router, deadLetter, null, uncounted);
    return { pipeline, locations, airshipOnly, everything, deadLetter };
  }

  it('sends each event to every sink whose filter accepts it', async () => {
    const { pipeline, locations, airshipOnly, everything } = setUp();
    await pipeline.process([
      record(AIRSHIP_LOCATION, 1),
      record(AIRSHIP_UNINSTALL, 2),
      record(PINPOINT_APP_EVENT, 3),
    ]);
    expect(locations.types()).toEqual(['LOCATION']);
    expect(airshipOnly.types()).toEqual(['LOCATION', 'UNINSTALL']);
    expect(everything.types()).toEqual(['LOCATION', 'UNINSTALL', PINPOINT_APP_EVENT.event_type]);
  });

  it('checkpoints a record only once every sink it went to acknowledged it, in order', async () => {
    const { pipeline, locations, airshipOnly, everything } = setUp();
    await pipeline.process([record(AIRSHIP_LOCATION, 1), record(PINPOINT_APP_EVENT, 2)]);
    expect(pipeline.checkpointable()).toBeNull();
    locations.ackAll();
    airshipOnly.ackAll();
    expect(pipeline.checkpointable()).toBeNull(); // `everything` still holds both
    // Acknowledge the second record first: the checkpoint must not jump the first.
    everything.held[1]?.ack.ack();
    expect(pipeline.checkpointable()).toBeNull();
    everything.held[0]?.ack.ack();
    expect(pipeline.checkpointable()?.sequenceNumber).toBe(sequence(2));
    await pipeline.drained();
  });

  it('dead-letters an undecodable record and moves past it once that is stored', async () => {
    const { pipeline, everything, airshipOnly, deadLetter } = setUp();
    await pipeline.process([record('not json {', 1), record(AIRSHIP_UNINSTALL, 2)]);
    expect(deadLetter.types()).toEqual(['decode_failed']);
    everything.ackAll();
    airshipOnly.ackAll();
    expect(pipeline.checkpointable()).toBeNull();
    deadLetter.ackAll();
    expect(pipeline.checkpointable()?.sequenceNumber).toBe(sequence(2));
  });
});

/** A held sink that rebuilds its output on replay, as the exactly-once S3 sink does. */
class SegmentedSink extends HeldSink {
  readonly ranges = new SegmentRanges();
  /** Records `[first..last]` as one of this sink's segments (cut unless still open). */
  segment(first: number, last: number, cut = true): void {
    const range = this.ranges.open(SHARD, at(first));
    range.last = at(last);
    if (cut) this.ranges.close(SHARD, range);
  }
  safeCheckpoint(shardId: string, candidate: RecordPosition): RecordPosition | null {
    return this.ranges.safeCheckpoint(shardId, candidate);
  }
  checkpointed(shardId: string, position: RecordPosition): void {
    this.ranges.checkpointed(shardId, position);
  }
}

/** The fixtures' shard. */
const SHARD = userRecord('').shardId;
const at = (n: number): RecordPosition => ({ sequenceNumber: sequence(n), subSequenceNumber: 0 });

describe('ShardPipeline: checkpoints with two exactly-once sinks', () => {
  async function twoSegmentedSinks(order: 'E1,E2' | 'E2,E1') {
    const e1 = new SegmentedSink('E1');
    const e2 = new SegmentedSink('E2');
    // E1 finished [3..8] (its first segment on this worker); E2 finished [1..5] and has
    // [6..12] with 11 and 12 still uploading.
    e1.segment(3, 8);
    e2.segment(1, 5);
    e2.segment(6, 12, false);
    const sinks = order === 'E1,E2' ? [e1, e2] : [e2, e1];
    const router = new Router(sinks.map((sink) => ({ sink, eventTypes: [], formats: [] })));
    const pipeline = new ShardPipeline(
      createDecoder('auto'),
      router,
      new HeldSink('dead-letter'),
      null,
      uncounted,
    );
    const records = Array.from({ length: 12 }, (_, i) => record(PINPOINT_APP_EVENT, i + 1));
    await pipeline.process(records);
    // Everything up to 10 is acknowledged by both sinks: the candidate is 10.
    for (const sink of sinks) for (const { ack } of sink.held.slice(0, 10)) ack.ack();
    return { pipeline, e1, e2 };
  }

  for (const order of ['E1,E2', 'E2,E1'] as const) {
    it(`two exactly-once S3 sinks never put the checkpoint inside a segment (order ${order})`, async () => {
      const { pipeline } = await twoSegmentedSinks(order);
      // 10 is inside E2's [6..12] -> 5, inside E1's [3..8] with nothing before it -> none.
      expect(pipeline.checkpointable()).toBeNull();
      // Asking again (every checkpoint tick asks) gives the same answer.
      expect(pipeline.checkpointable()).toBeNull();
    });
  }

  it('forgets segments only below the checkpoint actually written', async () => {
    const { pipeline, e1, e2 } = await twoSegmentedSinks('E1,E2');
    expect(pipeline.checkpointable()).toBeNull();
    expect(e1.ranges.tracked(SHARD)).toBe(1);
    // E2's open segment is uploaded and acknowledged: 12 is safe for both and is written.
    for (const { ack } of e1.held.slice(10)) ack.ack();
    for (const { ack } of e2.held.slice(10)) ack.ack();
    const position = pipeline.checkpointable();
    expect(position).toEqual(at(12));
    if (position) pipeline.checkpointed(position);
    expect(e1.ranges.tracked(SHARD)).toBe(0);
    expect(e2.ranges.tracked(SHARD)).toBe(0);
  });
});

describe('ShardPipeline: what a page holds while it is routed', () => {
  setFlagsFromString('--expose-gc');
  const collectGarbage = runInNewContext('gc') as () => void;

  /** A sink that acknowledges at once and, at the page's last event, counts what is gone. */
  class CountingSink extends HeldSink {
    routed = 0;
    goneAtLast = -1;
    constructor(
      private readonly page: ReadonlyArray<WeakRef<UserRecord>>,
      private readonly size: number,
    ) {
      super('counting');
    }
    override write(_item: RelayEvent | DeadLetterEntry, ack: AckHandle): void {
      this.routed += 1;
      if (this.routed === this.size) {
        collectGarbage();
        this.goneAtLast = this.page.filter((ref) => ref.deref() === undefined).length;
      }
      ack.ack();
    }
  }

  async function routePage(handOver: boolean) {
    const size = 200;
    let records: UserRecord[] | null = Array.from({ length: size }, (_, i) =>
      record(PINPOINT_APP_EVENT, i + 1),
    );
    const refs = records.map((one) => new WeakRef(one));
    const sink = new CountingSink(refs, size);
    const pipeline = new ShardPipeline(
      createDecoder('auto'),
      new Router([{ sink, eventTypes: [], formats: [] }]),
      new HeldSink('dead-letter'),
      null,
      uncounted,
    );
    // WeakRefs keep their targets for the turn they were made in.
    await new Promise((resolve) => setImmediate(resolve));
    const page = records;
    records = null;
    await pipeline.process(page, handOver ? { records: page } : undefined);
    return { gone: sink.goneAtLast, size, page };
  }

  it('a handed-over page does not keep its routed records alive while the rest of it is routed', async () => {
    const { gone, size, page } = await routePage(true);
    // Every record before the last one is garbage once routed (positions are kept apart).
    expect(gone).toBe(size - 1);
    expect(page.every((entry) => entry === undefined)).toBe(true);
  });

  it('a page not handed over is left as it was', async () => {
    const { gone, page } = await routePage(false);
    expect(gone).toBe(0);
    expect(page.every((entry) => entry !== undefined)).toBe(true);
  });
});

/** A held sink that encodes each event as a webhook does (JSON of the normalized event). */
class EncodingSink extends HeldSink {
  override write(item: RelayEvent | DeadLetterEntry, ack: AckHandle): void {
    if ('type' in item) webhookDocument(item);
    super.write(item, ack);
  }
}

/** JSON.parse takes this nesting; JSON.stringify runs out of stack on it. */
const TOO_DEEP = `{"type":"deep","nested":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;

describe('ShardPipeline: an event a sink cannot encode', () => {
  it('a record whose event a sink cannot encode is dead-lettered for that sink and the shard moves on', async () => {
    const sink = new EncodingSink('webhook');
    const deadLetter = new HeldSink('dead-letter');
    const pipeline = new ShardPipeline(
      createDecoder('json'),
      new Router([{ sink, eventTypes: [], formats: [] }]),
      deadLetter,
      null,
      uncounted,
    );
    await pipeline.process([
      record({ type: 'before' }, 1),
      record(TOO_DEEP, 2),
      record({ type: 'after' }, 3),
    ]);
    expect(sink.types()).toEqual(['before', 'after']);
    const entries = deadLetter.held.map(({ item }) => item as DeadLetterEntry);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      reason: 'sink_rejected',
      sink: 'webhook',
      shardId: SHARD,
      sequenceNumber: sequence(2),
    });
    expect(entries[0]?.error).toMatch(/sink webhook could not take the event: Maximum call stack/);
    sink.ackAll();
    expect(pipeline.checkpointable()?.sequenceNumber).toBe(sequence(1));
    deadLetter.ackAll();
    expect(pipeline.checkpointable()?.sequenceNumber).toBe(sequence(3));
    await pipeline.drained();
  });
});

describe('ShardPipeline: a refused event is counted as dead-lettered for its sink', () => {
  async function sinkRecords(metrics: RelayMetrics, sink: string, outcome: string) {
    const { values } = await metrics.sinkRecords.get();
    return values.find((v) => v.labels.sink === sink && v.labels.outcome === outcome)?.value ?? 0;
  }

  it('an event a sink throws on counts in kinesis_relay_sink_records_total{outcome="dead_lettered"} for that sink, on either decode path', async () => {
    const spec: DecodeWorkerSpec = {
      decodeFormat: 'json',
      streamInIds: false,
      sinks: [{ filter: { eventTypes: [], formats: [] }, encoding: { type: 'webhook' } }],
    };
    const pool = {
      decode: async (records: readonly UserRecord[]) =>
        unpackResults(new PageDecoder(spec).decodePage(packPage(records))),
    };
    for (const withPool of [false, true]) {
      const metrics = createMetrics();
      const sink = new EncodingSink('webhook');
      const other = new HeldSink('archive');
      const deadLetter = new HeldSink('dead-letter');
      const pipeline = new ShardPipeline(
        createDecoder('json'),
        new Router([
          { sink, eventTypes: [], formats: [] },
          { sink: other, eventTypes: [], formats: [] },
        ]),
        deadLetter,
        withPool ? pool : null,
        sinkDeadLetterCounter(metrics),
      );
      await pipeline.process([record({ type: 'before' }, 1), record(TOO_DEEP, 2)]);
      expect(deadLetter.held).toHaveLength(1);
      expect(await sinkRecords(metrics, 'webhook', 'dead_lettered'), `pool: ${withPool}`).toBe(1);
      // The other sink took the event: nothing dead-lettered for it.
      expect(await sinkRecords(metrics, 'archive', 'dead_lettered')).toBe(0);
    }
  });
});

describe('ShardPipeline with decode workers: an event a sink cannot encode', () => {
  it('a record whose event the worker cannot encode for a sink does not fail its page; it is dead-lettered for that sink', async () => {
    const spec: DecodeWorkerSpec = {
      decodeFormat: 'json',
      streamInIds: false,
      sinks: [{ filter: { eventTypes: [], formats: [] }, encoding: { type: 'webhook' } }],
    };
    // The worker's own work, on this thread: what a pool thread answers for the page.
    const pool = {
      decode: async (records: readonly UserRecord[]) =>
        unpackResults(new PageDecoder(spec).decodePage(packPage(records))),
    };
    const sink = new EncodingSink('webhook');
    const deadLetter = new HeldSink('dead-letter');
    const pipeline = new ShardPipeline(
      createDecoder('json'),
      new Router([{ sink, eventTypes: [], formats: [] }]),
      deadLetter,
      pool,
      uncounted,
    );
    await pipeline.process([
      record({ type: 'before' }, 1),
      record(TOO_DEEP, 2),
      record({ type: 'after' }, 3),
    ]);
    expect(sink.types()).toEqual(['before', 'after']);
    expect(deadLetter.held.map(({ item }) => item)).toMatchObject([
      { reason: 'sink_rejected', sink: 'webhook', sequenceNumber: sequence(2) },
    ]);
    sink.ackAll();
    deadLetter.ackAll();
    expect(pipeline.checkpointable()?.sequenceNumber).toBe(sequence(3));
  });
});

describe('ShardPipeline with decode workers: the main thread cannot decode what a worker did', () => {
  it('a record a worker decoded but the main thread cannot (its smaller stack) is dead-lettered for the sink that needed it, and the page goes on', async () => {
    // Attributes nested 10,000 deep: the decoder writes nested values as JSON text, which
    // fits a worker thread's 4 MB stack but not the main thread's ~1 MB.
    const deep = `{"type":"deep","attributes":{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`;
    const spec: DecodeWorkerSpec = {
      decodeFormat: 'json',
      streamInIds: false,
      // A sink whose events are encoded on the main thread (Redshift, Parquet).
      sinks: [{ filter: { eventTypes: [], formats: [] }, encoding: null }],
    };
    const pool = new DecodePool({ threads: 1, spec, log: createLogger('silent') });
    try {
      const sink = new HeldSink('warehouse');
      const deadLetter = new HeldSink('dead-letter');
      const pipeline = new ShardPipeline(
        createDecoder('json'),
        new Router([{ sink, eventTypes: [], formats: [] }]),
        deadLetter,
        pool,
        uncounted,
      );
      await pipeline.process([
        record({ type: 'before' }, 1),
        record(deep, 2),
        record({ type: 'after' }, 3),
      ]);
      expect(sink.types()).toEqual(['before', 'after']);
      expect(deadLetter.held.map(({ item }) => item)).toMatchObject([
        { reason: 'sink_rejected', sink: 'warehouse', sequenceNumber: sequence(2) },
      ]);
      sink.ackAll();
      deadLetter.ackAll();
      expect(pipeline.checkpointable()?.sequenceNumber).toBe(sequence(3));
    } finally {
      await pool.close();
    }
  });
});
