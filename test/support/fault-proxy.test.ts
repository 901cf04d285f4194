import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetRecordsCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { startFaultProxy, seededRandom, type FaultProxy } from './fault-proxy.js';

/** A tiny real server behind the proxy: echoes the operation and body it received. */
async function startEcho(): Promise<{ server: Server; url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? `${req.method} ${req.url}`);
      seen.push(op);
      const body = JSON.stringify({ op, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { 'content-type': 'application/json', 'x-echo': 'yes' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const KINESIS = 'Kinesis_20131202.GetRecords';
const DYNAMO = 'DynamoDB_20120810.UpdateItem';

function call(proxy: FaultProxy, target?: string, body = '{}', signal?: AbortSignal) {
  return fetch(`${proxy.endpoint}/bucket/key`, {
    method: 'POST',
    headers: target ? { 'x-amz-target': target } : {},
    body,
    signal,
  });
}

const sdk = { region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };

describe('fault proxy', () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let proxy: FaultProxy;
  beforeAll(async () => {
    echo = await startEcho();
    proxy = await startFaultProxy({ target: echo.url, seed: 7 });
  });
  afterAll(async () => {
    await proxy.close();
    echo.server.closeAllConnections();
    await new Promise((resolve) => echo.server.close(resolve));
  });

  it('forwards calls untouched and counts them per operation', async () => {
    const before = proxy.callCount(KINESIS);
    const response = await call(proxy, KINESIS, '{"ShardIterator":"x"}');
    expect(response.status).toBe(200);
    expect(response.headers.get('x-echo')).toBe('yes');
    expect(await response.json()).toEqual({ op: KINESIS, body: '{"ShardIterator":"x"}' });
    expect(proxy.callCount(KINESIS)).toBe(before + 1);
    expect(proxy.callCount('GetRecords')).toBe(before + 1);
    const s3 = await fetch(`${proxy.endpoint}/bucket/a.json?x-id=GetObject`);
    expect(await s3.json()).toMatchObject({ op: 'GET /bucket/a.json?x-id=GetObject' });
    expect(proxy.calls.get('GET /bucket/a.json')).toBe(1);
  });

  it('delays a call, then forwards it', async () => {
    const rule = proxy.inject({ match: KINESIS, fault: { kind: 'delay', ms: 300 }, times: 1 });
    const started = Date.now();
    const response = await call(proxy, KINESIS);
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(rule.hits).toBe(1);
    expect(proxy.faultCount(KINESIS, 'delay')).toBe(1);
    rule.remove();
  });

  it('answers 500 and 503 in the JSON and XML formats', async () => {
    const rule = proxy.inject({ match: () => true, fault: { kind: 'status', status: 503 } });
    const json = await call(proxy, KINESIS);
    expect(json.status).toBe(503);
    expect(await json.json()).toMatchObject({ __type: 'ServiceUnavailable' });
    const xml = await call(proxy);
    expect(xml.status).toBe(503);
    expect(await xml.text()).toContain('<Code>ServiceUnavailable</Code>');
    rule.remove();
    const five = proxy.inject({ match: DYNAMO, fault: { kind: 'status', status: 500 } });
    const dynamo = await call(proxy, DYNAMO);
    expect(dynamo.status).toBe(500);
    expect(await dynamo.json()).toMatchObject({
      __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    });
    five.remove();
  });

  it('throttles in each service wire format, as the AWS SDK reads it', async () => {
    const rules = [
      proxy.inject({
        match: /^DynamoDB_/,
        fault: { kind: 'throttle', error: 'ProvisionedThroughputExceededException' },
      }),
      proxy.inject({
        match: KINESIS,
        fault: { kind: 'throttle', error: 'ProvisionedThroughputExceededException' },
        times: 1,
      }),
      proxy.inject({
        match: KINESIS,
        fault: { kind: 'throttle', error: 'LimitExceededException' },
        times: 1,
      }),
      proxy.inject({
        match: KINESIS,
        fault: { kind: 'throttle', error: 'ThrottlingException' },
        times: 1,
      }),
      proxy.inject({ match: /^GET /, fault: { kind: 'throttle', error: 'SlowDown' } }),
    ];
    const handler = () => new NodeHttpHandler();
    const dynamo = new DynamoDBClient({ ...sdk, endpoint: proxy.endpoint, maxAttempts: 1 });
    const kinesis = new KinesisClient({
      ...sdk,
      endpoint: proxy.endpoint,
      maxAttempts: 1,
      requestHandler: handler(),
    });
    const s3 = new S3Client({
      ...sdk,
      endpoint: proxy.endpoint,
      forcePathStyle: true,
      maxAttempts: 1,
    });
    try {
      const names = async (send: () => Promise<unknown>) =>
        send().then(
          () => 'ok',
          (error: Error & { $metadata?: { httpStatusCode?: number } }) =>
            `${error.name} ${error.$metadata?.httpStatusCode}`,
        );
      expect(
        await names(() =>
          dynamo.send(new GetItemCommand({ TableName: 't', Key: { k: { S: 'x' } } })),
        ),
      ).toBe('ProvisionedThroughputExceededException 400');
      const getRecords = () => kinesis.send(new GetRecordsCommand({ ShardIterator: 'i' }));
      expect(await names(getRecords)).toBe('ProvisionedThroughputExceededException 400');
      expect(await names(getRecords)).toBe('LimitExceededException 400');
      expect(await names(getRecords)).toBe('ThrottlingException 400');
      expect(await names(() => s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' })))).toBe(
        'SlowDown 503',
      );
      expect(proxy.faultCount(/^DynamoDB_/, 'throttle')).toBe(1);
      expect(proxy.faultCount(KINESIS, 'throttle')).toBe(3);
    } finally {
      for (const rule of rules) rule.remove();
      dynamo.destroy();
      kinesis.destroy();
      s3.destroy();
    }
  });

  it('resets the connection', async () => {
    const rule = proxy.inject({ match: KINESIS, fault: { kind: 'reset' }, times: 1 });
    await expect(call(proxy, KINESIS)).rejects.toThrow();
    expect(rule.hits).toBe(1);
    expect((await call(proxy, KINESIS)).status).toBe(200);
    rule.remove();
  });

  it('hangs without answering until the client gives up', async () => {
    const rule = proxy.inject({ match: KINESIS, fault: { kind: 'hang' }, times: 1 });
    const seenBefore = echo.seen.length;
    await expect(call(proxy, KINESIS, '{}', AbortSignal.timeout(500))).rejects.toThrow(
      /abort|timeout/i,
    );
    expect(echo.seen.length).toBe(seenBefore);
    expect(proxy.faultCount(KINESIS, 'hang')).toBe(1);
    // The proxy notices when the client gave up: what "a hang costs one timeout" is measured by.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const hung = proxy.hungCalls.at(-1);
    expect(hung?.operation).toBe(KINESIS);
    expect(hung?.abandonedAfterMs).toBeGreaterThanOrEqual(400);
    rule.remove();
  });

  it('schedules by time window, count and seeded probability', async () => {
    const windowed = proxy.inject({
      match: DYNAMO,
      fault: { kind: 'status', status: 500 },
      afterMs: 300,
      forMs: 400,
    });
    expect((await call(proxy, DYNAMO)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await call(proxy, DYNAMO)).status).toBe(500);
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await call(proxy, DYNAMO)).status).toBe(200);
    windowed.remove();

    const counted = proxy.inject({
      match: DYNAMO,
      fault: { kind: 'status', status: 503 },
      times: 2,
    });
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await call(proxy, DYNAMO)).status);
    expect(statuses).toEqual([503, 503, 200, 200]);
    counted.remove();

    const sampled = proxy.inject({
      match: DYNAMO,
      fault: { kind: 'status', status: 503 },
      probability: 0.3,
    });
    let failed = 0;
    for (let i = 0; i < 200; i += 1) if ((await call(proxy, DYNAMO)).status === 503) failed += 1;
    expect(sampled.hits).toBe(failed);
    expect(failed).toBeGreaterThan(30);
    expect(failed).toBeLessThan(90);
    sampled.remove();

    // The same seed draws the same sequence: a run repeats.
    const a = seededRandom(42);
    const b = seededRandom(42);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
  });

  it('close() ends hung calls and its own sockets', async () => {
    const other = await startFaultProxy({ target: echo.url });
    other.inject({ match: () => true, fault: { kind: 'hang' } });
    const pending = call(other, KINESIS).then(
      () => 'answered',
      () => 'failed',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await other.close();
    expect(await pending).toBe('failed');
  });
});
