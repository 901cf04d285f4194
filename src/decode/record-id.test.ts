import { describe, expect, it } from 'vitest';
import type { SourceFormat } from '../core/event.js';
import { recordFromEntry } from '../replay/replay-entry.js';
import { deadLetterEntry } from '../sinks/dead-letter-entry.js';
import type { DecodeResult } from './decoder.js';
import {
  MA_BATCH,
  PINPOINT_APP_EVENT,
  mparticleEnvelope,
  MPARTICLE_MEMBER_ADDED_DATA,
  userRecord,
} from './fixtures/samples.js';
import { createDecoder } from './index.js';

const SEQUENCE = '49590338271490256608559692538361571095921575989136588898';

/** A document of each format whose events get a position id (their source has no id). */
const WITHOUT_IDS: ReadonlyArray<readonly [SourceFormat | 'auto', unknown]> = [
  ['json', { type: 'click', n: 1 }],
  ['auto', { type: 'click', n: 1 }],
  ['raw', 'bytes, not JSON'],
  ['pinpoint', PINPOINT_APP_EVENT],
  ['mparticle', mparticleEnvelope(MPARTICLE_MEMBER_ADDED_DATA)],
  ['mobile-analytics', MA_BATCH],
];

function ids(result: DecodeResult): string[] {
  if (!result.ok) throw new Error(result.error);
  return result.events.map((event) => event.id);
}

describe('position ids (events whose source has no id)', () => {
  it('a single-stream id is exactly shard:sequence:subsequence[:index], as before', () => {
    const record = userRecord({ type: 'click' }, { subSequenceNumber: 2 });
    const expected = `shardId-000000000003:${SEQUENCE}:2`;
    expect(ids(createDecoder('json').decode(record))).toEqual([expected]);
    expect(ids(createDecoder('json', { streamInIds: false }).decode(record))).toEqual([expected]);
    // One record of several events: the event's index is the last part.
    expect(ids(createDecoder('mobile-analytics').decode(userRecord(MA_BATCH)))).toEqual([
      `shardId-000000000003:${SEQUENCE}:0:0`,
      `shardId-000000000003:${SEQUENCE}:0:1`,
    ]);
  });

  it('records of two streams at the same shard and position get distinct ids with several streams', () => {
    for (const [format, doc] of WITHOUT_IDS) {
      const decoder = createDecoder(format, { streamInIds: true });
      const data = typeof doc === 'string' ? doc : JSON.stringify(doc);
      const a = ids(decoder.decode(userRecord(data, { streamName: 'orders' })));
      const b = ids(decoder.decode(userRecord(data, { streamName: 'clicks' })));
      for (const id of a) expect(id, format).toMatch(/^orders\/shardId-000000000003:/);
      for (const id of b) expect(id, format).toMatch(/^clicks\/shardId-000000000003:/);
      expect(new Set([...a, ...b]).size, format).toBe(a.length + b.length);
    }
    expect(
      ids(
        createDecoder('json', { streamInIds: true }).decode(
          userRecord({ n: 1 }, { streamName: 'orders' }),
        ),
      ),
    ).toEqual([`orders/shardId-000000000003:${SEQUENCE}:0`]);
  });

  it('an id the source gives is kept as it is with several streams', () => {
    const decoder = createDecoder('json', { streamInIds: true });
    expect(ids(decoder.decode(userRecord({ id: 'evt-1' }, { streamName: 'orders' })))).toEqual([
      'evt-1',
    ]);
  });

  it('a record replayed from its dead-letter entry gets the id it had when first read', () => {
    const record = userRecord(
      { n: 1 },
      { streamName: 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders' },
    );
    for (const streamInIds of [false, true]) {
      const decoder = createDecoder('auto', { streamInIds });
      const replayed = recordFromEntry(deadLetterEntry(record, 'sink_gave_up', 'down', 'hook'));
      expect(ids(decoder.decode(replayed))).toEqual(ids(decoder.decode(record)));
    }
  });
});
