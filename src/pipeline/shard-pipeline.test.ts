import { describe, expect, it } from 'vitest';
import type { AckHandle } from '../core/ack.js';
import type { RelayEvent } from '../core/event.js';
import { createDecoder } from '../decode/index.js';
import {
  AIRSHIP_LOCATION,
  AIRSHIP_UNINSTALL,
  PINPOINT_APP_EVENT,
  userRecord,
} from '../decode/fixtures/samples.js';
import type { DeadLetterEntry, DeadLetterSink, Sink } from '../sinks/sink.js';
import { Router } from './router.js';
import { ShardPipeline } from './shard-pipeline.js';

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
    const pipeline = new ShardPipeline(createDecoder('auto'), router, deadLetter);
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
