import { afterEach, describe, expect, it } from 'vitest';
import { createStream, putAll, type OutgoingRecord } from '../../src/demo/producer.js';
import { directoryDeadLetter, readDeadLetters } from '../support/dead-letters.js';
import { startHttpReceiver, type HttpReceiver, type Reply } from '../support/http-receiver.js';
import { testRelayConfig } from '../support/relay-config.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';
import { eventually, uniqueName, useTestStack, waitForPutsCheckpointed } from '../support/stack.js';

const RECORDS = 500;
const POISON = 250;
/** The receiver's request size limit: every normal batch fits, the poison record alone not. */
const BODY_LIMIT = 600 * 1024;

interface Document {
  readonly original: { n: number };
}

/** What each scenario's receiver answers a batch with the poison record in it. */
const scenarios: ReadonlyArray<{
  readonly what: string;
  readonly poison: () => Buffer;
  readonly refuse: (raw: Buffer, documents: Document[]) => Reply | undefined;
  readonly retry?: Record<string, unknown>;
  readonly reason: string;
}> = [
  {
    what: 'a record the receiver refuses forever (400 for any batch holding it)',
    poison: () => Buffer.from(JSON.stringify({ n: POISON, payload: 'poison' })),
    refuse: (_raw, documents) =>
      documents.some((document) => document.original.n === POISON)
        ? { status: 400, body: '{"error":"cannot parse event 250"}' }
        : undefined,
    reason: 'sink_rejected',
  },
  {
    what: 'a record the receiver cannot take even alone (413)',
    poison: () => Buffer.from(JSON.stringify({ n: POISON, payload: 'p'.repeat(700 * 1024) })),
    refuse: (raw) => (raw.byteLength > BODY_LIMIT ? { status: 413 } : undefined),
    reason: 'sink_rejected',
  },
  {
    what: 'a record the receiver fails on forever (500), within retry.maxAttempts',
    poison: () => Buffer.from(JSON.stringify({ n: POISON, payload: 'crashes the receiver' })),
    refuse: (_raw, documents) =>
      documents.some((document) => document.original.n === POISON)
        ? { status: 500, body: 'internal error' }
        : undefined,
    // maxElapsedMs far beyond the test: only the attempt bound can move the shard on.
    retry: { initialDelayMs: 50, maxDelayMs: 200, maxElapsedMs: 3_600_000, maxAttempts: 3 },
    reason: 'sink_gave_up',
  },
];

/**
 * A poison record among 500 on one shard, a relay process with a webhook sink and a
 * dead-letter directory: the batch is bisected down to the poison record, which alone is
 * dead-lettered; the other 499 are delivered and the checkpoint reaches the shard's end.
 */
describe('a poison record does not hold its shard', () => {
  const test = useTestStack();
  const receivers: HttpReceiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });

  it.each(scenarios)(
    '$what: dead-lettered alone, the other 499 delivered, the checkpoint at the end',
    async ({ poison, refuse, retry, reason }) => {
      const receiver = await startHttpReceiver((request) => {
        const documents = JSON.parse(request.body.toString()) as Document[];
        return refuse(request.raw, documents) ?? { status: 200 };
      });
      receivers.push(receiver);
      const stream = uniqueName('poison');
      const table = uniqueName('poison-leases');
      await createStream(test.clients.kinesis, stream, 1);
      const records: OutgoingRecord[] = Array.from({ length: RECORDS }, (_, n) => ({
        partitionKey: `key-${n % 7}`,
        data: n === POISON ? poison() : Buffer.from(JSON.stringify({ n, payload: `record ${n}` })),
      }));
      const put = await putAll(test.clients.kinesis, stream, records);

      const deadLetter = directoryDeadLetter();
      const config = testRelayConfig(
        { stream, table, bucket: 'unused' },
        {
          sinks: [
            {
              name: 'hooks',
              type: 'webhook',
              url: receiver.url,
              buffer: { maxRecords: 500, maxBytes: 2 * 1024 * 1024, maxAgeMs: 500 },
              retry: retry ?? { initialDelayMs: 50, maxDelayMs: 200, maxElapsedMs: 3_600_000 },
            },
          ],
          deadLetter,
        },
      );
      const relay = startRelayProcess(['run', '--config', writeConfig(config)]);
      try {
        await waitForPutsCheckpointed(test.clients, table, put, 120_000);
        await eventually(
          'the poison record in the dead-letter directory',
          async () => (readDeadLetters(deadLetter.path).length > 0 ? true : undefined),
          30_000,
        );
      } finally {
        relay.child.kill('SIGTERM');
      }
      expect(await relay.exited, relay.output()).toBe(0);

      const delivered = receiver.requests
        .filter((request) => request.status === 200)
        .flatMap((request) => JSON.parse(request.body.toString()) as Document[])
        .map((document) => document.original.n);
      expect(new Set(delivered).size).toBe(RECORDS - 1);
      expect(delivered).not.toContain(POISON);
      const entries = readDeadLetters(deadLetter.path);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        sink: 'hooks',
        reason,
        sequenceNumber: put[POISON]!.sequenceNumber,
      });
      expect(entries[0]!.error).toMatch(/HTTP_(400|413|500)|answered (400|413|500)/);
    },
    240_000,
  );
});
