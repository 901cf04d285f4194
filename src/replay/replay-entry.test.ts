import { describe, expect, it } from 'vitest';
import { entryMatches, parseDeadLetterLine, recordFromEntry } from './replay-entry.js';

const line = {
  stream: 'events',
  shardId: 'shardId-000000000001',
  sequenceNumber: '49650000000000000000000000000000000000000000000000000001',
  subSequenceNumber: 2,
  partitionKey: 'user-7',
  arrivalTime: '2026-11-22T10:00:00.000Z',
  reason: 'decode_failed',
  error: 'not JSON',
  sink: null,
  data: Buffer.from('hello').toString('base64'),
};

describe('dead-letter lines read back', () => {
  it('rebuilds the record as the shard loop saw it', () => {
    const parsed = parseDeadLetterLine(JSON.stringify(line));
    if (!parsed.ok) throw new Error(parsed.error);
    const record = recordFromEntry(parsed.entry);
    expect(Buffer.from(record.data).toString()).toBe('hello');
    expect(record).toMatchObject({
      shardId: line.shardId,
      sequenceNumber: line.sequenceNumber,
      subSequenceNumber: 2,
      aggregated: true,
      partitionKey: 'user-7',
    });
    expect(record.approximateArrivalTimestamp.toISOString()).toBe(line.arrivalTime);
  });

  it('names what is wrong with a damaged line', () => {
    expect(parseDeadLetterLine('{"stream":')).toMatchObject({ ok: false });
    const noSequence = parseDeadLetterLine(JSON.stringify({ ...line, sequenceNumber: 'x' }));
    expect(noSequence).toMatchObject({ ok: false });
    expect(noSequence.ok ? '' : noSequence.error).toMatch(/^sequenceNumber:/);
  });

  it('filters by reason, shard and arrival window', () => {
    const parsed = parseDeadLetterLine(JSON.stringify(line));
    if (!parsed.ok) throw new Error(parsed.error);
    const entry = parsed.entry;
    expect(entryMatches(entry, {})).toBe(true);
    expect(entryMatches(entry, { reasons: ['sink_gave_up'] })).toBe(false);
    expect(entryMatches(entry, { shardIds: ['shardId-000000000001'] })).toBe(true);
    expect(entryMatches(entry, { since: new Date('2026-11-22T10:00:00Z') })).toBe(true);
    expect(entryMatches(entry, { until: new Date('2026-11-22T09:59:59Z') })).toBe(false);
  });
});
