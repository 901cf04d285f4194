import {
  DescribeStreamConsumerCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  type ShardIteratorType,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { EventStreamCodec, type MessageHeaders } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createRequire } from 'node:module';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';

/*
 * SubscribeToShard as AWS serves it: HTTP/2 over TLS (ALPN h2), the response an AWS
 * event stream (binary messages: an initial-response, then SubscribeToShardEvent events,
 * or an exception message), encoded with @smithy/eventstream-codec (in @smithy/core).
 * Every other call (and HTTP/1.1, which the relay's polling client speaks) is proxied to
 * kinesis-local, and the events are read from kinesis-local with GetRecords: real
 * records, real resharding, real ChildShards. A subscription ends after 5 minutes as on
 * AWS, or after `expireAfterEvents` events with records (a forced expiry).
 *
 * When to read kinesis-local: at once after an event with records; when caught up, after
 * `pollIdleMs`, or as soon as a PutRecord(s) of the stream that went through this server
 * was acknowledged by kinesis-local (then one GetRecords picks the records up and they
 * are pushed). AWS pushes what was put, it does not poll; a producer putting through
 * this server gets that (put → push = kinesis-local's put and one GetRecords), one
 * putting straight to kinesis-local waits for the next poll.
 */

export interface FanoutServerOptions {
  /** kinesis-local's plain endpoint, e.g. http://127.0.0.1:4567. */
  readonly upstream: string;
  /** End each subscription after this many non-empty events (default: only after 5 min). */
  expireAfterEvents?: number;
  /** The next SubscribeToShard calls are refused with these errors (HTTP 400), in order. */
  rejectNext?: string[];
  /**
   * Ends a subscription from a starting position right after its initial response, without
   * an event and without an error, when this says so (a server closing it early).
   */
  endEmpty?: (position: { Type: string; SequenceNumber?: string }) => boolean;
  /**
   * Refuses every SubscribeToShard from a starting position (of the consumer it names)
   * with the error it names.
   */
  rejectAt?: (
    position: { Type: string; SequenceNumber?: string },
    subscriber: { ConsumerARN: string; ShardId: string },
  ) => string | undefined;
  /**
   * How long a caught-up subscription waits before asking kinesis-local again (default
   * 200 ms), unless a put through this server wakes it first.
   */
  readonly pollIdleMs?: number;
  /** Called as an event with records is written to a subscriber (the latency bench's breakdown). */
  readonly onPush?: (records: readonly _Record[]) => void;
}

export interface FanoutServer {
  /** https://127.0.0.1:PORT (self-signed: the client needs NODE_TLS_REJECT_UNAUTHORIZED=0). */
  readonly endpoint: string;
  readonly counters: {
    subscriptions: number;
    http2Subscriptions: number;
    events: number;
    records: number;
    expiries: number;
    rejected: number;
    /** Subscriptions ended by `endEmpty`. */
    emptyEnds: number;
  };
  readonly options: FanoutServerOptions;
  stop(): Promise<void>;
}

const SUBSCRIPTION_MS = 5 * 60_000;
const codec = new EventStreamCodec(toUtf8, fromUtf8);

function message(headers: Record<string, string>, body: unknown): Uint8Array {
  const encoded: MessageHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    encoded[name] = { type: 'string', value };
  }
  return codec.encode({ headers: encoded, body: fromUtf8(JSON.stringify(body)) });
}

const eventMessage = (type: string, body: unknown) =>
  message(
    { ':message-type': 'event', ':event-type': type, ':content-type': 'application/json' },
    body,
  );

function exceptionMessage(type: string, text: string): Uint8Array {
  return message(
    {
      ':message-type': 'exception',
      ':exception-type': type,
      ':content-type': 'application/json',
    },
    { message: text },
  );
}

/** A record as the JSON protocol carries it. */
function wireRecord(record: _Record) {
  return {
    SequenceNumber: record.SequenceNumber,
    ApproximateArrivalTimestamp: (record.ApproximateArrivalTimestamp?.getTime() ?? 0) / 1000,
    Data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
    PartitionKey: record.PartitionKey,
  };
}

export async function startFanoutServer(options: FanoutServerOptions): Promise<FanoutServer> {
  const require = createRequire(import.meta.url);
  const { server: tls } = require('kinesis-local/server.json') as {
    server: { key: string; cert: string };
  };
  const upstream = new KinesisClient({
    endpoint: options.upstream,
    region: 'us-east-1',
    credentials: { accessKeyId: 'fanout', secretAccessKey: 'fanout' },
    requestHandler: new NodeHttpHandler(),
  });
  const counters = {
    subscriptions: 0,
    http2Subscriptions: 0,
    events: 0,
    records: 0,
    expiries: 0,
    rejected: 0,
    emptyEnds: 0,
  };
  /** Open subscriptions, by the ConsumerARN they subscribed with. */
  const open = new Map<ServerHttp2Stream, string>();
  /** Open subscriptions' wake-ups, by stream ARN: a put of the stream was acknowledged. */
  const wakers = new Map<string, Set<() => void>>();

  async function subscribe(request: Http2ServerRequest, response: Http2ServerResponse) {
    const body = JSON.parse(await readBody(request)) as {
      ConsumerARN: string;
      ShardId: string;
      StartingPosition: { Type: string; SequenceNumber?: string; Timestamp?: number };
    };
    counters.subscriptions += 1;
    const refusal = options.rejectNext?.shift() ?? options.rejectAt?.(body.StartingPosition, body);
    if (refusal) {
      // As AWS refuses a subscription: an AWS JSON error, no event stream.
      counters.rejected += 1;
      response.writeHead(400, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-errortype': refusal,
      });
      response.end(JSON.stringify({ __type: refusal, message: 'refused by the test server' }));
      return;
    }
    if (request.httpVersion === '2.0') counters.http2Subscriptions += 1;
    // As AWS: a consumer that is not (or no longer) registered and ACTIVE is refused.
    const status = await upstream
      .send(new DescribeStreamConsumerCommand({ ConsumerARN: body.ConsumerARN }))
      .then(
        (found) => found.ConsumerDescription?.ConsumerStatus,
        () => undefined,
      );
    if (status !== 'ACTIVE') {
      counters.rejected += 1;
      response.writeHead(400, {
        'content-type': 'application/x-amz-json-1.1',
        'x-amzn-errortype': 'ResourceNotFoundException',
      });
      response.end(
        JSON.stringify({
          __type: 'ResourceNotFoundException',
          message: `Consumer ${body.ConsumerARN} not found or not ACTIVE (${status ?? 'absent'})`,
        }),
      );
      return;
    }
    const stream = response.stream;
    open.set(stream, body.ConsumerARN);
    stream.once('close', () => open.delete(stream));
    const streamArn = body.ConsumerARN.split('/consumer/')[0] ?? '';
    const position = body.StartingPosition;
    response.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
    const write = async (bytes: Uint8Array) => {
      if (!stream.write(bytes)) await new Promise((resolve) => stream.once('drain', resolve));
    };
    let iterator: string | undefined;
    try {
      iterator = (
        await upstream.send(
          new GetShardIteratorCommand({
            StreamARN: streamArn,
            ShardId: body.ShardId,
            ShardIteratorType: position.Type as ShardIteratorType,
            StartingSequenceNumber: position.SequenceNumber,
            Timestamp:
              position.Timestamp === undefined ? undefined : new Date(position.Timestamp * 1000),
          }),
        )
      ).ShardIterator;
    } catch (error) {
      const name = (error as Error).name;
      stream.end(exceptionMessage(name, String(error)));
      return;
    }
    await write(eventMessage('initial-response', {}));
    if (options.endEmpty?.(position)) {
      counters.emptyEnds += 1;
      stream.end();
      return;
    }
    const endsAt = Date.now() + SUBSCRIPTION_MS;
    let withRecords = 0;
    let continuation = position.SequenceNumber;
    let lastEventAt = 0;
    // A put acknowledged while a GetRecords is in flight (which may have missed it) makes
    // the next idle wait return at once.
    let putSeen = false;
    let wakeUp = (): void => undefined;
    const onPut = (): void => {
      putSeen = true;
      wakeUp();
    };
    const wakersOfStream = wakers.get(streamArn) ?? new Set<() => void>();
    wakers.set(streamArn, wakersOfStream);
    wakersOfStream.add(onPut);
    stream.once('close', () => wakersOfStream.delete(onPut));
    while (iterator && !stream.closed && Date.now() < endsAt) {
      putSeen = false;
      const page = await upstream.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: 500, StreamARN: streamArn }),
      );
      iterator = page.NextShardIterator;
      const records = page.Records ?? [];
      const last = records[records.length - 1];
      if (last?.SequenceNumber) continuation = last.SequenceNumber;
      const ended = !iterator;
      if (records.length === 0 && !ended) {
        // Quiet shard: an empty event now and then (AWS: at least every 5 s), else wait.
        if (continuation !== undefined && Date.now() - lastEventAt > 1000) {
          await write(
            eventMessage('SubscribeToShardEvent', {
              Records: [],
              ContinuationSequenceNumber: continuation,
              MillisBehindLatest: page.MillisBehindLatest ?? 0,
            }),
          );
          lastEventAt = Date.now();
        }
        if (!putSeen) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, options.pollIdleMs ?? 200);
            wakeUp = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wakeUp = () => undefined;
        }
        continue;
      }
      await write(
        eventMessage('SubscribeToShardEvent', {
          Records: records.map(wireRecord),
          ...(ended ? {} : { ContinuationSequenceNumber: continuation }),
          MillisBehindLatest: page.MillisBehindLatest ?? 0,
          ...(ended ? { ChildShards: page.ChildShards ?? [] } : {}),
        }),
      );
      lastEventAt = Date.now();
      if (records.length > 0) options.onPush?.(records);
      counters.events += 1;
      counters.records += records.length;
      if (records.length > 0) withRecords += 1;
      const expireAfter = options.expireAfterEvents;
      if (!ended && expireAfter !== undefined && withRecords >= expireAfter) {
        counters.expiries += 1;
        break;
      }
    }
    wakersOfStream.delete(onPut);
    if (!stream.closed) stream.end();
  }

  /** A put of `body`'s stream was acknowledged: its subscriptions read kinesis-local now. */
  function putAcknowledged(body: string) {
    let named: { StreamName?: string; StreamARN?: string };
    try {
      named = JSON.parse(body) as typeof named;
    } catch {
      return; // not JSON: kinesis-local answered it anyway; the poll picks the records up
    }
    const { StreamName, StreamARN } = named;
    for (const [streamArn, wakeAll] of wakers) {
      if (streamArn === StreamARN || (StreamName && streamArn.endsWith(`:stream/${StreamName}`))) {
        for (const wake of wakeAll) wake();
      }
    }
  }

  /** As AWS: deregistering a consumer ends its subscriptions. */
  function endSubscriptionsOf(consumerName: string) {
    for (const [stream, consumerArn] of open) {
      if (consumerArn.includes(`/consumer/${consumerName}:`)) stream.end();
    }
  }

  async function proxy(request: Http2ServerRequest, response: Http2ServerResponse) {
    const body = await readBody(request);
    const target = request.headers['x-amz-target'];
    const isPut =
      target === 'Kinesis_20131202.PutRecords' || target === 'Kinesis_20131202.PutRecord';
    if (target === 'Kinesis_20131202.DeregisterStreamConsumer') {
      const { ConsumerName } = JSON.parse(body) as { ConsumerName?: string };
      if (ConsumerName) endSubscriptionsOf(ConsumerName);
    }
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (!name.startsWith(':') && name !== 'connection') headers[name] = value;
    }
    const upstreamRequest = httpRequest(
      `${options.upstream}${request.url}`,
      { method: request.method, headers },
      (answer) => {
        const out: Record<string, string | string[]> = {};
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !HOP_HEADERS.has(name)) out[name] = value;
        }
        response.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(response);
        if (isPut && answer.statusCode === 200) answer.once('end', () => putAcknowledged(body));
      },
    );
    upstreamRequest.on('error', () => response.destroy());
    upstreamRequest.end(body);
  }

  const server: Http2SecureServer = createSecureServer({
    key: tls.key,
    cert: tls.cert,
    allowHTTP1: true,
  });
  server.on('request', (request: Http2ServerRequest, response: Http2ServerResponse) => {
    if (request.headers['x-amz-target'] === 'Kinesis_20131202.SubscribeToShard') {
      subscribe(request, response).catch(() => response.stream?.destroy());
    } else {
      proxy(request, response).catch(() => response.destroy());
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `https://127.0.0.1:${port}`,
    counters,
    options,
    stop: async () => {
      for (const stream of open.keys()) stream.close();
      await new Promise((resolve) => server.close(resolve));
      upstream.destroy();
    },
  };
}

const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

function readBody(request: Http2ServerRequest): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString()));
    request.on('error', reject);
  });
}
