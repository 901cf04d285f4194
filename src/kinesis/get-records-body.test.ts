import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BenchKinesisEndpoint } from '../../bench/kinesis-endpoint/server.js';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { parseGetRecordsBody, readGetRecordsBody } from './get-records-body.js';
import { KinesisJsonProtocol } from './kinesis-protocol.js';

/*
 * Our GetRecords reader against the SDK's, on the wire: the same response bytes go to a
 * stock KinesisClient and to one with KinesisJsonProtocol, and what `send` gives back —
 * output or error — must be the same. Responses: pages of the benchmark's wire-protocol
 * endpoint, and hand-written bodies for every case the reader leaves to the SDK.
 */

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let body = '';
let server: Server;
let endpoint = '';

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amzn-RequestId': 'req-1',
        'x-amz-id-2': 'ext-1',
      });
      response.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function clients(url: string) {
  // HTTP/1.1, as the relay's client (createAwsClients); the SDK's default is HTTP/2.
  const common = { region: 'us-east-1', endpoint: url, credentials, maxAttempts: 1 };
  return {
    sdk: new KinesisClient({ ...common, requestHandler: new NodeHttpHandler() }),
    ours: new KinesisClient({
      ...common,
      requestHandler: new NodeHttpHandler(),
      protocol: KinesisJsonProtocol,
    }),
  };
}

async function outcome(client: KinesisClient, iterator = 'it') {
  try {
    const output = await client.send(new GetRecordsCommand({ ShardIterator: iterator }));
    return { output };
  } catch (error) {
    const { name, message } = error as Error;
    return { error: { name, message } };
  }
}

const record = (overrides: Record<string, unknown> = {}) => ({
  SequenceNumber: '49590338271490256608559692538361571095921575989136588898',
  ApproximateArrivalTimestamp: 1.700000000123e9,
  Data: Buffer.from('{"event_type":"x"}').toString('base64'),
  PartitionKey: 'pk-1',
  ...overrides,
});
const page = (records: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ Records: records, NextShardIterator: 'next', MillisBehindLatest: 0, ...extra });

const BODIES: ReadonlyArray<readonly [string, string]> = [
  ['an empty page', page([])],
  ['a plain page', page([record(), record({ PartitionKey: 'pk-2', Data: '' })])],
  [
    'encryption type and a fractional time',
    page([record({ EncryptionType: 'KMS', ApproximateArrivalTimestamp: 1700000000.0005 })]),
  ],
  ['a time written as a string', page([record({ ApproximateArrivalTimestamp: '1700000000.5' })])],
  [
    'null and missing members',
    page([record({ PartitionKey: null, EncryptionType: undefined })], { MillisBehindLatest: null }),
  ],
  ['unknown members', page([record({ Extra: 1 })], { Other: 'x' })],
  ['a } in a partition key', page([record({ PartitionKey: 'a}b}' }), record()])],
  [
    'a record with many } inside',
    page([record({ Extra: Array.from({ length: 20 }, () => ({})) })]),
  ],
  [
    'unknown members of every JSON type',
    page([record({ Extra: { a: [1, -2.5e-3, true, false, null, 'x', {}, []] } })], { Other: [{}] }),
  ],
  [
    'whitespace between every token, members in another order',
    JSON.stringify(
      {
        MillisBehindLatest: 17,
        NextShardIterator: 'next',
        Records: [{ PartitionKey: 'pk', Data: 'AAAA', ApproximateArrivalTimestamp: 1.7e9 }],
      },
      null,
      '\t',
    ).replace(/\n/g, '\r\n  '),
  ],
  ['a __type key', page([record({ __type: 'x' })])],
  [
    'child shards at the end of a shard',
    page([], {
      NextShardIterator: null,
      ChildShards: [
        {
          ShardId: 's-1',
          ParentShards: ['s-0'],
          HashKeyRange: { StartingHashKey: '0', EndingHashKey: '9' },
        },
      ],
    }),
  ],
  ['Records null', page(null)],
  ['Records not a list', page({ a: 1 })],
  ['a record that is a list', page([[1]])],
  ['MillisBehindLatest as a string', page([], { MillisBehindLatest: 'Infinity' })],
  ['a sequence number that is a number', page([record({ SequenceNumber: 5 })])],
  ['a non-ASCII partition key', page([record({ PartitionKey: 'ключ' })])],
  ['an escaped partition key', page([record()]).replace('"pk-1"', '"\\u043a"')],
  ['base64 with bad padding', page([record({ Data: 'AAA' })])],
  ['base64 with three =', page([record({ Data: 'A===' })])],
  ['base64 with = inside', page([record({ Data: 'AA=A' })])],
  ['base64 with = early', page([record({ Data: 'A=AA' })])],
  ['URL-safe base64', page([record({ Data: 'ab-_' })])],
  ['base64 with a space', page([record({ Data: 'AA AAAAA' })])],
  ['base64 with a dot', page([record({ Data: 'AA.A' })])],
  ['Data that is a number', page([record({ Data: 12 })])],
  ['a duplicate record member', page([record()]).replace('"pk-1"', '"pk-1","PartitionKey":"pk-2"')],
  [
    'a duplicate page member',
    page([], { MillisBehindLatest: 0 }).replace('}', ',"NextShardIterator":"b"}'),
  ],
  ['a control character in a partition key', page([record()]).replace('"pk-1"', '"pk\t1"')],
  ['an escaped slash', page([record({ PartitionKey: 'a/b' })]).replace('a/b', 'a\\/b')],
  ['a number JSON does not allow', page([record()]).replace('1700000000.123', '01700000000.123')],
  ['a time too large for a number', page([record()]).replace('1700000000.123', '1e400')],
  ['something after the document', `${page([record()])} x`],
  ['not JSON', '{"Records": ['],
  ['an empty body', ''],
  ['a list', '[]'],
];

describe('GetRecords reader', () => {
  for (const [name, text] of BODIES) {
    it(`gives what the SDK gives: ${name}`, async () => {
      body = text;
      const { sdk, ours } = clients(endpoint);
      try {
        const expected = await outcome(sdk);
        expect(await outcome(ours)).toEqual(expected);
        // Not a transport failure both clients happen to share.
        expect(expected.error?.message ?? '').not.toMatch(/protocol error|ECONN|socket/i);
      } finally {
        sdk.destroy();
        ours.destroy();
      }
    });
  }

  it('gives what the SDK gives on the benchmark endpoint pages', async () => {
    const bench = new BenchKinesisEndpoint({
      streamName: 'recorded',
      shardCount: 1,
      recordsPerShard: 2_500,
      templateRecords: 2_500,
    });
    await bench.start();
    const { sdk, ours } = clients(bench.endpoint);
    try {
      const { ShardIterator } = await sdk.send(
        new GetShardIteratorCommand({
          StreamName: 'recorded',
          ShardId: 'shardId-000000000000',
          ShardIteratorType: 'TRIM_HORIZON',
        }),
      );
      // The same iterator twice: the endpoint's pages are a function of the position.
      let iterator = ShardIterator;
      let pages = 0;
      let records = 0;
      while (iterator && pages < 4) {
        const [a, b] = [await outcome(sdk, iterator), await outcome(ours, iterator)];
        // The endpoint gives every response a new request id.
        expect(b.output?.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
        // Iterators carry their issue time (for the endpoint's iterator lifetime): compare
        // the position they name, not the millisecond each call was answered in.
        const next = a.output?.NextShardIterator;
        for (const o of [a, b]) {
          if (!o.output) continue;
          o.output.$metadata.requestId = 'random';
          o.output.NextShardIterator = withoutIssueTime(o.output.NextShardIterator);
        }
        expect(b).toEqual(a);
        records += a.output?.Records?.length ?? 0;
        iterator = next;
        pages += 1;
        if ((a.output?.Records?.length ?? 0) === 0) break;
      }
      expect(records).toBe(2_500);
    } finally {
      sdk.destroy();
      ours.destroy();
      await bench.stop();
    }
  });
});

/** Bodies of BODIES[3..] that the reader takes itself (the rest go to the SDK). */
const PLAIN = [
  'null and missing members',
  'unknown members',
  'unknown members of every JSON type',
  'a } in a partition key',
  'a record with many } inside',
  'whitespace between every token, members in another order',
  'a duplicate record member',
  'a duplicate page member',
  'Records null',
];

describe('parseGetRecordsBody', () => {
  it('reads plain bodies however they are laid out, as the SDK does', () => {
    for (const [name, text] of BODIES.filter(([name]) => PLAIN.includes(name))) {
      expect(parseGetRecordsBody(Buffer.from(text)), name).not.toBeNull();
    }
  });

  it('reads a plain page itself, its data views of one buffer of the page, nothing else', () => {
    const second = Buffer.from('{"event_type":"y"}').toString('base64');
    const parsed = parseGetRecordsBody(
      Buffer.from(page([record(), record({ Data: '' }), record({ Data: second })])),
    );
    expect(parsed?.Records).toHaveLength(3);
    const [first, empty, last] = (parsed?.Records ?? []).map((r) => r.Data ?? new Uint8Array());
    expect(Buffer.from(first ?? []).toString()).toBe('{"event_type":"x"}');
    expect(empty?.byteLength).toBe(0);
    expect(Buffer.from(last ?? []).toString()).toBe('{"event_type":"y"}');
    // One buffer, exactly the page's data: views pin nothing but their own page.
    expect(last?.buffer).toBe(first?.buffer);
    expect(first?.buffer.byteLength).toBe((first?.byteLength ?? 0) + (last?.byteLength ?? 0));
  });

  it('reads record by record what it reads whole, leaving to the SDK what that leaves', () => {
    // Plain bodies the record-at-a-time reader leaves to the SDK all the same: a record with
    // more '}' inside than it tries, and a page member twice (JSON.parse keeps the last).
    const toTheSdk = ['a record with many } inside', 'a duplicate page member'];
    for (const [name, text] of BODIES) {
      const whole = parseGetRecordsBody(Buffer.from(text));
      const listed: _Record[] = [];
      const head = readGetRecordsBody(Buffer.from(text), (r) => listed.push(r));
      if (whole === null || toTheSdk.includes(name)) {
        expect(head, name).toBeNull();
        continue;
      }
      expect(head, name).not.toBeNull();
      const { hasRecords, recordCount, NextShardIterator, MillisBehindLatest } = head ?? {};
      expect(
        {
          ...(hasRecords ? { Records: listed } : {}),
          ...(NextShardIterator !== undefined ? { NextShardIterator } : {}),
          ...(MillisBehindLatest !== undefined ? { MillisBehindLatest } : {}),
        },
        name,
      ).toEqual(whole);
      expect(recordCount, name).toBe(whole.Records?.length ?? 0);
    }
  });

  it('hands the records out one at a time, in order, with what the page says besides', () => {
    const second = Buffer.from('{"event_type":"y"}').toString('base64');
    const seen: string[] = [];
    const views: Uint8Array[] = [];
    const head = readGetRecordsBody(
      Buffer.from(page([record(), record({ Data: second })])),
      (r) => {
        seen.push(Buffer.from(r.Data ?? []).toString());
        if (r.Data) views.push(r.Data);
      },
    );
    expect(seen).toEqual(['{"event_type":"x"}', '{"event_type":"y"}']);
    expect(head).toMatchObject({ hasRecords: true, recordCount: 2 });
    // The page's one data buffer, which the caller may free once it is done with the records.
    expect(head?.data?.buffer).toBe(views[0]?.buffer);
    expect(views[1]?.buffer).toBe(views[0]?.buffer);
    // A record the SDK must read, after others were handed out: null, the caller drops them.
    const handed: unknown[] = [];
    const bad = page([record(), record({ Data: 'not base64!' })]);
    expect(readGetRecordsBody(Buffer.from(bad), (r) => handed.push(r))).toBeNull();
    expect(handed).toHaveLength(1);
  });

  it('leaves every unusual body to the SDK', () => {
    for (const [name, text] of BODIES.slice(3)) {
      // Plain after all: what the SDK drops, this reader drops too.
      if (PLAIN.includes(name)) continue;
      expect(parseGetRecordsBody(Buffer.from(text)), name).toBeNull();
    }
  });
});

/** A bench endpoint iterator (`bench:shard:position:issuedAt:…`, base64) without its time. */
function withoutIssueTime(iterator: string | undefined): string | undefined {
  if (iterator === undefined) return undefined;
  const [tag, shardId, position] = Buffer.from(iterator, 'base64').toString().split(':');
  return `${tag}:${shardId}:${position}`;
}
