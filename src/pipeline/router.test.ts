import { describe, expect, it } from 'vitest';
import type { RelayEvent } from '../core/event.js';
import { userRecord } from '../decode/fixtures/samples.js';
import type { Sink } from '../sinks/sink.js';
import { Router } from './router.js';

const sink = (name: string) => ({ name }) as unknown as Sink;

function eventOf(streamName: string): RelayEvent {
  return {
    id: 'e',
    type: 'OPEN',
    occurred: null,
    format: 'json',
    appId: null,
    deviceId: null,
    userId: null,
    attributes: {},
    metrics: {},
    original: null,
    record: userRecord('{}', { streamName }),
  };
}

describe('Router: a sink filter by stream', () => {
  it('sends each event to the sinks of its stream, as configured (name or ARN)', () => {
    const clicksArn = 'arn:aws:kinesis:us-east-1:123456789012:stream/clicks';
    const orders = sink('orders');
    const clicks = sink('clicks');
    const all = sink('all');
    const router = new Router([
      { sink: orders, eventTypes: [], formats: [], streams: ['orders'] },
      { sink: clicks, eventTypes: [], formats: [], streams: [clicksArn] },
      { sink: all, eventTypes: [], formats: [] },
    ]);
    const routed = (streamName: string) => {
      const to: string[] = [];
      const event = eventOf(streamName);
      router.routeFields(event.type, event.format, event.record.streamName, (s) => to.push(s.name));
      return to;
    };
    expect(routed('orders')).toEqual(['orders', 'all']);
    expect(routed(clicksArn)).toEqual(['clicks', 'all']);
    // Another account's stream of the same name is another stream.
    expect(routed('arn:aws:kinesis:us-east-1:444455556666:stream/clicks')).toEqual(['all']);
    expect(routed('views')).toEqual(['all']);
  });
});

describe('Router.write', () => {
  it('writes the event to the sinks routeFields() selects, each with a handle of its own', () => {
    const written: Array<{ sink: string; handle: number }> = [];
    const writer = (name: string) =>
      ({
        name,
        write: (_event: RelayEvent, ack: { ack(): void; id?: number }) =>
          written.push({ sink: name, handle: ack.id ?? -1 }),
      }) as unknown as Sink;
    const router = new Router([
      { sink: writer('orders'), eventTypes: [], formats: [], streams: ['orders'] },
      { sink: writer('opens'), eventTypes: ['OPEN'], formats: [] },
      { sink: writer('closes'), eventTypes: ['CLOSE'], formats: [] },
      { sink: writer('json'), eventTypes: [], formats: ['json'] },
    ]);
    let next = 0;
    const acks = { expect: () => ({ id: (next += 1), ack: () => undefined }) };
    const event = eventOf('orders');
    const selected: string[] = [];
    router.routeFields(event.type, event.format, event.record.streamName, (s) =>
      selected.push(s.name),
    );
    const refused = () => {
      throw new Error('no sink here throws');
    };
    expect(router.write(event, acks, refused)).toBe(3);
    expect(written).toEqual(selected.map((name, index) => ({ sink: name, handle: index + 1 })));
  });
});
