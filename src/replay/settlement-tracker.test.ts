import { describe, expect, it } from 'vitest';
import type { AckHandle } from '../core/ack.js';
import type { RelayEvent } from '../core/event.js';
import type { Sink } from '../sinks/sink.js';
import { SettlementTracker } from './settlement-tracker.js';

/** A sink that holds every event until told to acknowledge them. */
function holdingSink(): Sink & { ackAll(): void } {
  const held: AckHandle[] = [];
  return {
    name: 'held',
    write: (_event, ack) => void held.push(ack),
    waitForCapacity: () => undefined,
    flush: async () => undefined,
    close: async () => undefined,
    ackAll: () => held.splice(0).forEach((ack) => ack.ack()),
  };
}

function event(sequenceNumber: string, id: string): RelayEvent {
  return {
    id,
    record: { shardId: 'shardId-000000000000', sequenceNumber, subSequenceNumber: 0 },
  } as RelayEvent;
}

describe('replay settlement', () => {
  it('a record counts as undelivered until every event of it is acknowledged, and the original handle is called', () => {
    const tracker = new SettlementTracker();
    const sink = holdingSink();
    const tracked = tracker.track(sink);
    const acked: string[] = [];
    const handle = (id: string): AckHandle => ({ ack: () => acked.push(id) });
    tracked.write(event('1', 'a'), handle('a'));
    tracked.write(event('1', 'b'), handle('b'));
    tracked.write(event('2', 'c'), handle('c'));
    expect(tracker.unsettledRecords).toBe(2);
    sink.ackAll();
    expect(tracker.unsettledRecords).toBe(0);
    expect(acked).toEqual(['a', 'b', 'c']);
  });

  it('an event a sink threw on (the pipeline dead-letters it) is not left counted as unsettled', () => {
    const tracker = new SettlementTracker();
    const refusing: Sink = {
      ...holdingSink(),
      write: () => {
        throw new RangeError('Maximum call stack size exceeded');
      },
    };
    const tracked = tracker.track(refusing);
    expect(() => tracked.write(event('1', 'a'), { ack: () => undefined })).toThrow(RangeError);
    expect(tracker.unsettledRecords).toBe(0);
  });
});
