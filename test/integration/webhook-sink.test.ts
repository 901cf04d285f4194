import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { sinkSchema, type WebhookSinkConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/observability/logger.js';
import { createWebhookSink } from '../../src/sinks/webhook/create-webhook-sink.js';
import {
  AckCounter,
  CollectedDeadLetters,
  metricValue,
  quietSinkDeps,
  testEvents,
  writeAll,
} from '../support/events.js';
import {
  startHttpReceiver,
  type HttpReceiver,
  type ReceivedRequest,
} from '../support/http-receiver.js';

const SECRET = 'test-signing-secret';

function webhookConfig(fields: Record<string, unknown>): WebhookSinkConfig {
  const config = sinkSchema.parse({ name: 'hooks', type: 'webhook', ...fields });
  if (config.type !== 'webhook') throw new Error('not a webhook sink config');
  return config;
}

const base = {
  signingSecret: SECRET,
  buffer: { maxRecords: 50, maxBytes: 1024 * 1024, maxAgeMs: 100 },
  retry: { initialDelayMs: 50, maxDelayMs: 1000, maxElapsedMs: 120_000 },
  maxConcurrency: 4,
  timeoutMs: 5000,
};

/** Runs the events through a webhook sink with `fields` and closes it. */
async function deliver(
  fields: Record<string, unknown>,
  events: ReturnType<typeof testEvents>,
  deps: Partial<Parameters<typeof createWebhookSink>[1]> = {},
): Promise<AckCounter> {
  const sink = createWebhookSink(webhookConfig({ ...base, ...fields }), {
    deadLetter: new CollectedDeadLetters(),
    ...quietSinkDeps(),
    ...deps,
  });
  const acks = new AckCounter();
  await writeAll(sink, events, acks);
  await sink.close();
  return acks;
}

/** What a receiver does with the secret: HMAC-SHA256 over `{timestamp}.{raw body}`. */
function signatureVerifies(request: ReceivedRequest): boolean {
  const timestamp = String(request.headers['x-relay-timestamp']);
  const given = Buffer.from(String(request.headers['x-relay-signature']));
  const mac = createHmac('sha256', SECRET).update(`${timestamp}.`).update(request.raw);
  const expected = Buffer.from(`v1=${mac.digest('hex')}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Event ids in the JSON format's body: an array of normalized documents. */
function jsonIds(request: ReceivedRequest): string[] {
  return (JSON.parse(request.body.toString()) as Array<{ id: string }>).map((doc) => doc.id);
}

/** Every event once among the accepted requests; every retry resent the same bytes. */
function expectDeliveredOnce(receiver: HttpReceiver, events: ReturnType<typeof testEvents>) {
  const accepted = receiver.requests.filter((request) => request.status === 200);
  const ids = accepted.flatMap(jsonIds);
  expect(ids.sort()).toEqual(events.map((event) => event.id).sort());
  expect(receiver.requests.every(signatureVerifies)).toBe(true);
  const bodies = new Map<string, Set<string>>();
  for (const request of receiver.requests) {
    const id = String(request.headers['x-relay-request-id']);
    const digest = createHash('sha256').update(request.raw).digest('hex');
    bodies.set(id, (bodies.get(id) ?? new Set()).add(digest));
  }
  expect([...bodies.values()].every((digests) => digests.size === 1)).toBe(true);
  // Each request id was accepted exactly once, whatever its failed attempts.
  const acceptedIds = accepted.map((request) => String(request.headers['x-relay-request-id']));
  expect(new Set(acceptedIds).size).toBe(acceptedIds.length);
  expect(acceptedIds.sort()).toEqual([...bodies.keys()].sort());
}

describe('webhook sink against real HTTP receivers', () => {
  const receivers: HttpReceiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });

  it('keeps partition-key order across lanes in flight at once; ordering: none does not', async () => {
    /** Six partition keys over many records; a retried first request must not be overtaken. */
    const events = testEvents(600).map((event, n) => ({
      ...event,
      record: { ...event.record, partitionKey: `device-${n % 6}` },
    }));
    const run = async (ordering: 'partitionKey' | 'none') => {
      let active = 0;
      let mostActive = 0;
      const receiver = await startHttpReceiver((_request, index) => {
        active += 1;
        mostActive = Math.max(mostActive, active);
        const reply = index === 0 ? { status: 503, delayMs: 300 } : { status: 200, delayMs: 30 };
        setTimeout(() => (active -= 1), reply.delayMs);
        return reply;
      });
      receivers.push(receiver);
      const acks = await deliver(
        {
          url: receiver.url,
          ordering,
          buffer: { maxRecords: 20, maxBytes: 1 << 20, maxAgeMs: 50 },
        },
        events,
      );
      expect(acks).toMatchObject({ acked: 600, doubles: 0 });
      expectDeliveredOnce(receiver, events);
      const lastByKey = new Map<string, bigint>();
      let outOfOrder = 0;
      for (const request of receiver.requests.filter((r) => r.status === 200)) {
        const docs = JSON.parse(request.body.toString()) as Array<{
          kinesis: { partition_key: string; sequence_number: string };
        }>;
        for (const { kinesis } of docs) {
          const sequence = BigInt(kinesis.sequence_number);
          if (sequence < (lastByKey.get(kinesis.partition_key) ?? 0n)) outOfOrder += 1;
          lastByKey.set(kinesis.partition_key, sequence);
        }
      }
      return { outOfOrder, mostActive };
    };

    const ordered = await run('partitionKey');
    expect(ordered.outOfOrder).toBe(0);
    expect(ordered.mostActive).toBeGreaterThan(1);
    const unordered = await run('none');
    expect(unordered.outOfOrder).toBeGreaterThan(0);
  });

  it('delivers every event through a receiver failing half of the requests', async () => {
    const receiver = await startHttpReceiver((_request, index) =>
      index % 2 === 0 ? { status: 503, body: '{"error":"busy"}' } : { status: 200 },
    );
    receivers.push(receiver);
    const deps = quietSinkDeps();
    const events = testEvents(2000);
    const acks = await deliver({ url: receiver.url }, events, deps);
    expect(acks).toMatchObject({ acked: 2000, doubles: 0 });
    expectDeliveredOnce(receiver, events);
    expect(receiver.requests.filter((r) => r.status === 503).length).toBeGreaterThan(0);
    expect(await metricValue(deps.metrics, 'kinesis_relay_sink_retries_total')).toBeGreaterThan(0);
    expect(
      await metricValue(deps.metrics, 'kinesis_relay_sink_records_total', { outcome: 'delivered' }),
    ).toBe(2000);
  });

  it('waits out a receiver that is down for 10 s', async () => {
    const receiver = await startHttpReceiver(() => ({ status: 200 }));
    receivers.push(receiver);
    await receiver.pause();
    const sink = createWebhookSink(webhookConfig({ ...base, url: receiver.url }), {
      deadLetter: new CollectedDeadLetters(),
      ...quietSinkDeps(),
    });
    const events = testEvents(500);
    const acks = new AckCounter();
    for (const event of events) sink.write(event, acks.handle());
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    expect(acks.acked).toBe(0);
    await receiver.resume();
    await sink.flush();
    await sink.close();
    expect(acks).toMatchObject({ acked: 500, doubles: 0 });
    expectDeliveredOnce(receiver, events);
  });

  it('honours 429 Retry-After and keeps the request id across the retry', async () => {
    const refused = new Set<string>();
    const receiver = await startHttpReceiver((request) => {
      const id = String(request.headers['x-relay-request-id']);
      if (refused.has(id)) return { status: 200 };
      refused.add(id);
      return { status: 429, headers: { 'retry-after': '1' } };
    });
    receivers.push(receiver);
    const events = testEvents(300);
    const acks = await deliver(
      {
        url: receiver.url,
        compression: 'gzip',
        // Backoff far longer than Retry-After: a quick success shows the header was used.
        retry: { initialDelayMs: 60_000, maxDelayMs: 60_000, maxElapsedMs: 120_000 },
      },
      events,
    );
    expect(acks.acked).toBe(300);
    expect(receiver.requests.every((r) => r.headers['content-encoding'] === 'gzip')).toBe(true);
    expect(receiver.requests.filter((r) => r.status === 429)).toHaveLength(refused.size);
    expectDeliveredOnce(receiver, events);
  });

  it('splits a batch the receiver finds too large (413); a 400 is bisected down to the refused event', async () => {
    const receiver = await startHttpReceiver((request) => {
      const ids = jsonIds(request);
      if (ids.length > 7) return { status: 413 };
      if (ids.includes(poison)) return { status: 400, body: '{"error":"bad event"}' };
      return { status: 200 };
    });
    receivers.push(receiver);
    const events = testEvents(200);
    const poison = events[123]!.id;
    const deadLetter = new CollectedDeadLetters();
    const acks = await deliver(
      { url: receiver.url, buffer: { ...base.buffer, maxRecords: 64 } },
      events,
      { deadLetter },
    );
    expect(acks).toMatchObject({ acked: 200, doubles: 0 });
    expect(receiver.requests.some((r) => r.status === 413)).toBe(true);
    const delivered = receiver.requests.filter((r) => r.status === 200).flatMap(jsonIds);
    // Only the refused event is dead-lettered; the rest of its request is delivered once.
    expect(deadLetter.entries).toHaveLength(1);
    expect(deadLetter.entries[0]).toMatchObject({
      reason: 'sink_rejected',
      sequenceNumber: events[123]!.record.sequenceNumber,
    });
    expect(delivered.length).toBe(199);
    expect(new Set(delivered).size).toBe(delivered.length);
  });

  it('speaks the Firehose HTTP endpoint protocol to a receiver built from its spec', async () => {
    const accessKey = 'firehose-access-key';
    // The receiver side of the public protocol: check the headers, echo the request id.
    const receiver = await startHttpReceiver((request) => {
      const headers = request.headers;
      const requestId = String(headers['x-amz-firehose-request-id']);
      const reply = (status: number, errorMessage?: string) => ({
        status,
        body: JSON.stringify({
          requestId,
          timestamp: Date.now(),
          ...(errorMessage ? { errorMessage } : {}),
        }),
      });
      if (headers['x-amz-firehose-protocol-version'] !== '1.0')
        return reply(400, 'protocol version');
      if (headers['x-amz-firehose-access-key'] !== accessKey) return reply(401, 'access key');
      if (headers['content-type'] !== 'application/json') return reply(415, 'content type');
      const body = JSON.parse(request.body.toString()) as {
        requestId: string;
        timestamp: number;
        records: Array<{ data: string }>;
      };
      if (body.requestId !== requestId || typeof body.timestamp !== 'number')
        return reply(400, 'body');
      return reply(200);
    });
    receivers.push(receiver);
    const events = testEvents(400);
    const acks = await deliver(
      { url: receiver.url, format: 'firehose', accessKey, compression: 'gzip' },
      events,
    );
    expect(acks.acked).toBe(400);
    expect(receiver.requests.every((r) => r.status === 200)).toBe(true);
    const records = receiver.requests.flatMap(
      (r) => (JSON.parse(r.body.toString()) as { records: Array<{ data: string }> }).records,
    );
    const ids = records.map(
      (record) => (JSON.parse(Buffer.from(record.data, 'base64').toString()) as { id: string }).id,
    );
    expect(ids.sort()).toEqual(events.map((event) => event.id).sort());
  });

  it('retries a 2xx whose Firehose requestId does not match', async () => {
    let first = true;
    const receiver = await startHttpReceiver((request) => {
      const requestId = String(request.headers['x-amz-firehose-request-id']);
      const echoed = first ? 'someone-else' : requestId;
      first = false;
      return { status: 200, body: JSON.stringify({ requestId: echoed, timestamp: Date.now() }) };
    });
    receivers.push(receiver);
    const acks = await deliver(
      { url: receiver.url, format: 'firehose', maxConcurrency: 1 },
      testEvents(10),
    );
    expect(acks.acked).toBe(10);
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[0]!.headers['x-amz-firehose-request-id']).toBe(
      receiver.requests[1]!.headers['x-amz-firehose-request-id'],
    );
  });

  it('times out a receiver slower than timeoutMs, retries the same request, sends extra headers', async () => {
    const receiver = await startHttpReceiver((_request, index) =>
      index === 0 ? { status: 200, delayMs: 5000 } : { status: 200 },
    );
    receivers.push(receiver);
    const events = testEvents(20);
    const acks = await deliver(
      {
        url: receiver.url,
        timeoutMs: 500,
        maxConcurrency: 1,
        buffer: { ...base.buffer, maxRecords: 20 },
        headers: { Authorization: 'Bearer relay-token', 'X-Tenant': 'acme' },
      },
      events,
    );
    expect(acks.acked).toBe(20);
    expect(receiver.requests).toHaveLength(2);
    const [slow, retry] = receiver.requests;
    expect(slow!.headers['x-relay-request-id']).toBe(retry!.headers['x-relay-request-id']);
    expect(retry!.headers).toMatchObject({
      authorization: 'Bearer relay-token',
      'x-tenant': 'acme',
    });
    expect(jsonIds(retry!).sort()).toEqual(events.map((event) => event.id).sort());
  });

  it('logs a failed request with the endpoint but without its path secret, query token, header values or a receiver echoing the path', async () => {
    // Slack-style: the URL's path is the credential. Express's 404 page echoes the path.
    const secretPath = '/services/T0SECRET/B0SECRET/XXXXSECRET';
    const replies = [
      { status: 503, body: `Cannot POST ${secretPath}?token=q-token-3` },
      { status: 302, headers: { location: 'https://hooks.slack.com/services/T1/B1/YYYYSECRET' } },
    ];
    const receiver = await startHttpReceiver(
      (_request, index) => replies[index] ?? { status: 200 },
    );
    receivers.push(receiver);
    const origin = new URL(receiver.url).origin;
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const acks = await deliver(
      {
        url: `${origin}${secretPath}?token=q-token-3&api_key=q-apikey-1&region=eu`,
        maxConcurrency: 1,
        headers: { 'X-Api-Key': 'h-xapikey-2' },
      },
      testEvents(10),
      { log: createLogger('info', stream) },
    );
    expect(acks.acked).toBe(10);
    expect(receiver.requests[2]?.headers['x-api-key']).toBe('h-xapikey-2');
    const logged = lines.map(
      (line) => JSON.parse(line) as { msg: string; url?: string; err?: string },
    );
    const retried = logged.find((line) => line.msg === 'batch write failed; retrying');
    expect(retried?.url).toBe(`${origin}/[redacted]`);
    expect(retried?.err).toContain('the receiver answered 503: Cannot POST [redacted]');
    const refused = logged.find((line) => line.msg.includes('refused access'));
    expect(refused?.err).toContain('redirected to https://hooks.slack.com/[redacted]');
    for (const secret of ['SECRET', 'q-token-3', 'q-apikey-1', 'h-xapikey-2']) {
      expect(lines.join('\n')).not.toContain(secret);
    }
  });

  it('an expired credential (401, 403), a wrong path (404) or a redirect pauses and alerts instead of dead-lettering', async () => {
    // The receiver refuses access for its first requests, as while a token is rotated.
    const refusals = [401, 401, 403, 404, 302, 401];
    const receiver = await startHttpReceiver((_request, index) => {
      const status = refusals[index];
      if (status === undefined) return { status: 200 };
      return status === 302
        ? { status, headers: { location: 'https://elsewhere.example.com/hook' } }
        : { status, body: '{"error":"denied"}' };
    });
    receivers.push(receiver);
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const deadLetter = new CollectedDeadLetters();
    const deps = { ...quietSinkDeps(), log: createLogger('info', stream), deadLetter };
    const events = testEvents(300);
    const acks = await deliver({ url: receiver.url, maxConcurrency: 1 }, events, deps);

    expect(acks).toMatchObject({ acked: 300, doubles: 0 });
    expect(deadLetter.entries).toHaveLength(0);
    expectDeliveredOnce(receiver, events);
    expect(
      await metricValue(deps.metrics, 'kinesis_relay_sink_access_errors_total', {
        reason: 'unauthorized',
      }),
    ).toBe(3);
    for (const reason of ['forbidden', 'not_found', 'redirected'])
      expect(
        await metricValue(deps.metrics, 'kinesis_relay_sink_access_errors_total', { reason }),
      ).toBe(1);
    const loud = lines
      .map((line) => JSON.parse(line) as { level: number; msg: string; err?: string })
      .filter((line) => line.level >= 50 && line.msg.includes('refused access'));
    expect(loud).toHaveLength(refusals.length);
    expect(loud.some((line) => line.err?.includes('elsewhere.example.com'))).toBe(true);
  });
});
