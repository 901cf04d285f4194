import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { payloadBody, signature } from './request-body.js';
import { parseRetryAfter } from './webhook-client.js';

const docs = [Buffer.from('{"id":"a"}'), Buffer.from('{"id":"b"}')];

describe('webhook request bodies', () => {
  it('json: an array of the documents', () => {
    expect(JSON.parse(payloadBody('json', 'r1', docs, 0).toString())).toEqual([
      { id: 'a' },
      { id: 'b' },
    ]);
    expect(payloadBody('json', 'r1', [], 0).toString()).toBe('[]');
  });

  it('firehose: requestId, timestamp and base64 records, as Firehose sends them', () => {
    const body = JSON.parse(payloadBody('firehose', 'r1', docs, 1700000000000).toString()) as {
      requestId: string;
      timestamp: number;
      records: Array<{ data: string }>;
    };
    expect(body.requestId).toBe('r1');
    expect(body.timestamp).toBe(1700000000000);
    expect(body.records.map((r) => Buffer.from(r.data, 'base64').toString())).toEqual([
      '{"id":"a"}',
      '{"id":"b"}',
    ]);
  });

  it('signs `{timestamp}.{body}` with HMAC-SHA256', () => {
    const body = Buffer.from('[]');
    const expected = createHmac('sha256', 'k').update('123.[]').digest('hex');
    expect(signature('k', '123', body)).toBe(`v1=${expected}`);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:05 GMT', 1000)).toBe(4000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });
});
