import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  type GetRecordsCommandOutput,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createStream,
  kplAggregate,
  putAll,
  type OutgoingRecord,
} from '../../src/demo/producer.js';
import { uniqueName, useTestStack } from '../support/stack.js';

/**
 * The relay's GetRecords reader (src/kinesis/get-records-body.ts) against the SDK's on
 * responses of the real emulator: the relay's Kinesis client and a stock one read the
 * same shard iterators, and every page must come out the same.
 */
describe('GetRecords reader on kinesis-local responses', () => {
  const test = useTestStack();

  it('reads every page exactly as the SDK does: JSON, binary, KPL aggregates, non-ASCII keys', async () => {
    const stream = uniqueName('reader');
    const kinesis = test.clients.kinesis;
    await createStream(kinesis, stream, 2);
    const records: OutgoingRecord[] = [];
    for (let i = 0; i < 300; i += 1) {
      const data =
        i % 3 === 0
          ? randomBytes(1 + (i % 700))
          : Buffer.from(JSON.stringify({ event_type: 'e', n: i, text: 'ü€' }));
      // A few non-ASCII keys (their pages go to the SDK's reader), the rest plain.
      records.push({ partitionKey: i % 50 === 0 ? `ключ-${i}` : `pk-${i}`, data });
    }
    for (let i = 0; i < 20; i += 1) {
      records.push(
        kplAggregate(
          Array.from({ length: 5 }, (_, j) => ({
            partitionKey: `agg-${i}-${j}`,
            data: Buffer.from(`{"i":${i},"j":${j}}`),
          })),
        ),
      );
    }
    await putAll(kinesis, stream, records);

    const stock = new KinesisClient({ region: 'us-east-1', requestHandler: new NodeHttpHandler() });
    try {
      const { Shards = [] } = await stock.send(new ListShardsCommand({ StreamName: stream }));
      let total = 0;
      let ownPages = 0;
      for (const shard of Shards) {
        let iterator = (
          await stock.send(
            new GetShardIteratorCommand({
              StreamName: stream,
              ShardId: shard.ShardId,
              ShardIteratorType: 'TRIM_HORIZON',
            }),
          )
        ).ShardIterator;
        for (let page = 0; iterator && page < 20; page += 1) {
          const command = () => new GetRecordsCommand({ ShardIterator: iterator, Limit: 50 });
          const expected = await stock.send(command());
          const actual = await kinesis.send(command());
          // Each call mints a new iterator; everything else must match.
          expect(typeof actual.NextShardIterator).toBe(typeof expected.NextShardIterator);
          expect(comparable(actual)).toEqual(comparable(expected));
          total += expected.Records?.length ?? 0;
          // Our reader's data are views of one buffer holding exactly the page's data; the
          // SDK's are views of Node's shared pool.
          const data = actual.Records?.map((r) => r.Data ?? new Uint8Array()) ?? [];
          const buffers = new Set(data.map((d) => d.buffer));
          const bytes = data.reduce((sum, d) => sum + d.byteLength, 0);
          if (buffers.size === 1 && [...buffers][0]?.byteLength === bytes && bytes > 0) {
            ownPages += 1;
          }
          if ((expected.Records?.length ?? 0) === 0) break;
          iterator = expected.NextShardIterator;
        }
      }
      expect(total).toBe(records.length);
      expect(ownPages).toBeGreaterThan(2);
    } finally {
      stock.destroy();
    }
  });
});

/** The output without what differs per call: request ids and the next iterator. */
function comparable(output: GetRecordsCommandOutput) {
  const { requestId: _id, extendedRequestId: _ext, ...metadata } = output.$metadata;
  const { NextShardIterator: _next, ...rest } = output;
  return { ...rest, $metadata: metadata };
}
