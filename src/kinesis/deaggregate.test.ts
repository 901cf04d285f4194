import { describe, expect, it } from 'vitest';
import { PendingBatch } from '../sinks/pending-batch.js';
import { kplAggregate } from '../demo/producer.js';
import { deaggregate, isKplAggregate } from './deaggregate.js';
import { recordsAfter } from './iterator-start.js';

const record = (data: Uint8Array, sequenceNumber = '4960') => ({
  Data: data,
  PartitionKey: 'pk',
  SequenceNumber: sequenceNumber,
  ApproximateArrivalTimestamp: new Date('2024-05-06T07:08:09Z'),
});

describe('KPL de-aggregation', () => {
  it('splits an aggregate into user records with sub-sequence numbers and their own keys', () => {
    const users = ['a', 'b', 'c'].map((text, i) => ({
      partitionKey: `key-${i}`,
      data: Buffer.from(text),
    }));
    const aggregate = kplAggregate(users);
    expect(isKplAggregate(aggregate.data)).toBe(true);

    const out = deaggregate(record(aggregate.data), 'stream', 'shardId-0');
    expect(out.map((r) => Buffer.from(r.data).toString())).toEqual(['a', 'b', 'c']);
    expect(out.map((r) => r.subSequenceNumber)).toEqual([0, 1, 2]);
    expect(out.map((r) => r.partitionKey)).toEqual(['key-0', 'key-1', 'key-2']);
    expect(out.every((r) => r.aggregated && r.sequenceNumber === '4960')).toBe(true);
  });

  it('passes a plain record through as sub-sequence 0', () => {
    const out = deaggregate(record(Buffer.from('{"x":1}')), 'stream', 'shardId-0');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ subSequenceNumber: 0, aggregated: false, partitionKey: 'pk' });
  });

  it('leaves a plain record the view it was read as (a batch that keeps it copies it), and gives KPL sub-records bytes of their own', () => {
    // As the SDK decodes base64: small Buffers are slices of Node's shared 8 KB pool.
    const pooled = Buffer.from(Buffer.from('{"x":1}').toString('base64'), 'base64');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength);
    const [plain] = deaggregate(record(pooled), 'stream', 'shardId-0');
    expect(plain!.data).toBe(pooled);
    // What a batch keeping it for a dead-letter entry holds: a copy, not the pool's view.
    const batch = new PendingBatch<string>(0);
    batch.add('line', 4, plain!, { ack: () => undefined });
    expect(batch.records[0]!.data.buffer).not.toBe(pooled.buffer);
    expect(Buffer.from(batch.records[0]!.data).toString()).toBe('{"x":1}');

    const aggregate = kplAggregate(
      ['a', 'b'].map((t) => ({ partitionKey: 'k', data: Buffer.from(t) })),
    );
    for (const user of deaggregate(record(aggregate.data), 'stream', 'shardId-0')) {
      expect(user.data.buffer.byteLength).toBe(1);
    }
  });

  it('keeps bytes that already own their whole buffer (our GetRecords reader) without a copy', () => {
    const owned = new Uint8Array(Buffer.from('{"x":1}'));
    expect(owned.buffer.byteLength).toBe(owned.byteLength);
    const [plain] = deaggregate(record(owned), 'stream', 'shardId-0');
    expect(plain!.data).toBe(owned);
  });

  it('delivers an aggregate with a broken checksum as one plain record, as the KCL does', () => {
    const aggregate = Buffer.from(
      kplAggregate([{ partitionKey: 'k', data: Buffer.from('a') }]).data,
    );
    aggregate[aggregate.length - 1] = (aggregate[aggregate.length - 1] ?? 0) ^ 0xff;
    const out = deaggregate(record(aggregate), 'stream', 'shardId-0');
    expect(out).toHaveLength(1);
    expect(out[0]?.aggregated).toBe(false);
  });

  it('skips the already-processed part of an aggregate when restarting at a checkpoint', () => {
    const aggregate = kplAggregate(
      ['a', 'b', 'c', 'd'].map((t) => ({ partitionKey: 'k', data: Buffer.from(t) })),
    );
    const users = [
      ...deaggregate(record(aggregate.data, '100'), 's', 'shard'),
      ...deaggregate(record(Buffer.from('e'), '200'), 's', 'shard'),
    ];
    const rest = recordsAfter(users, { sequenceNumber: '100', subSequenceNumber: 1 });
    expect(rest.map((r) => Buffer.from(r.data).toString())).toEqual(['c', 'd', 'e']);
    expect(recordsAfter(users, { sequenceNumber: '200', subSequenceNumber: 0 })).toEqual([]);
    expect(recordsAfter(users, null)).toHaveLength(5);
  });
});
