import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { replayDeadLetters } from '../../src/cli/dead-letter-command.js';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import type { DeadLetterEntry } from '../../src/sinks/sink.js';
import { directoryDeadLetter } from '../support/dead-letters.js';
import { startHttpReceiver, type HttpReceiver } from '../support/http-receiver.js';

/** A decode failure of a JSON record read from `stream`. */
function entry(stream: string, n: number): DeadLetterEntry {
  return {
    stream,
    shardId: 'shardId-000000000000',
    sequenceNumber: String(49_000_000_000n + BigInt(n)),
    subSequenceNumber: 0,
    partitionKey: `pk-${n}`,
    arrivalTime: '2026-12-06T08:00:00.000Z',
    reason: 'decode_failed',
    error: 'not JSON: mislabelled',
    sink: null,
    data: Buffer.from(JSON.stringify({ type: 'seen', from: stream, n })).toString('base64'),
  };
}

describe('dead-letter replay with several streams', () => {
  const receivers: HttpReceiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });

  it('a replayed record goes only to the sinks whose filter.streams takes its stream', async () => {
    const alphaHook = await startHttpReceiver(() => ({ status: 200 }));
    const betaHook = await startHttpReceiver(() => ({ status: 200 }));
    receivers.push(alphaHook, betaHook);
    const deadLetter = directoryDeadLetter();
    const dir = join(deadLetter.path, '2026/12/06/08');
    mkdirSync(dir, { recursive: true });
    const lines = [entry('alpha', 1), entry('beta', 2)].map((one) => JSON.stringify(one));
    writeFileSync(join(dir, 'dead-letter-20261206T080000-00000000.jsonl'), `${lines.join('\n')}\n`);
    const webhook = (name: string, url: string, stream: string) => ({
      name,
      type: 'webhook',
      url,
      filter: { streams: [stream] },
      buffer: { maxRecords: 10, maxBytes: 1024 * 1024, maxAgeMs: 100 },
    });
    const config = validateConfig(
      {
        application: 'replay-streams',
        streams: [{ name: 'alpha' }, { name: 'beta' }],
        deadLetter,
        decode: { format: 'json' },
        sinks: [
          webhook('to-alpha', alphaHook.url, 'alpha'),
          webhook('to-beta', betaHook.url, 'beta'),
        ],
      },
      'test',
      {},
    );
    const said: string[] = [];
    const code = await replayDeadLetters(
      config,
      { filter: {}, dryRun: false, deleteReplayed: false, say: (line) => said.push(line) },
      createLogger('silent'),
    );
    expect(code, said.join('\n')).toBe(0);
    const received = (hook: HttpReceiver) =>
      hook.requests.flatMap((request) =>
        (JSON.parse(request.body.toString()) as Array<{ original: { from: string } }>).map(
          (event) => event.original.from,
        ),
      );
    expect(received(alphaHook)).toEqual(['alpha']);
    expect(received(betaHook)).toEqual(['beta']);
  });

  it('an entry no sink filter takes is neither reported delivered nor deleted with --delete-replayed', async () => {
    const hook = await startHttpReceiver(() => ({ status: 200 }));
    receivers.push(hook);
    const deadLetter = directoryDeadLetter();
    const dir = join(deadLetter.path, '2026/12/06/08');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'dead-letter-20261206T080000-00000001.jsonl');
    // Decodes (with --format json) to an event of type 'seen', which the sink filters out.
    writeFileSync(file, `${JSON.stringify(entry('alpha', 1))}\n`);
    const config = validateConfig(
      {
        application: 'replay-filtered',
        stream: { name: 'alpha' },
        deadLetter,
        decode: { format: 'raw' },
        sinks: [
          {
            name: 'purchases',
            type: 'webhook',
            url: hook.url,
            filter: { eventTypes: ['purchase'] },
          },
        ],
      },
      'test',
      {},
    );
    const said: string[] = [];
    const code = await replayDeadLetters(
      config,
      {
        format: 'json',
        filter: {},
        dryRun: false,
        deleteReplayed: true,
        say: (line) => said.push(line),
      },
      createLogger('silent'),
    );
    const summary = said.join('\n');
    expect(hook.requests).toHaveLength(0);
    expect(summary).not.toContain('1 delivered');
    expect(summary).toContain('1 taken by no sink');
    expect(code, summary).toBe(1);
    expect(existsSync(file)).toBe(true);
  });

  it('entries of two streams at the same shard and sequence number are each replayed (kinesis-local numbers every stream alike)', async () => {
    const hook = await startHttpReceiver(() => ({ status: 200 }));
    receivers.push(hook);
    const deadLetter = directoryDeadLetter();
    const dir = join(deadLetter.path, '2026/12/06/08');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'dead-letter-20261206T080000-00000002.jsonl');
    // The same shard id and sequence number in both streams.
    const lines = [entry('alpha', 7), entry('beta', 7)].map((one) => JSON.stringify(one));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const config = validateConfig(
      {
        application: 'replay-same-positions',
        streams: [{ name: 'alpha' }, { name: 'beta' }],
        deadLetter,
        decode: { format: 'json' },
        sinks: [{ name: 'all', type: 'webhook', url: hook.url }],
      },
      'test',
      {},
    );
    const said: string[] = [];
    const code = await replayDeadLetters(
      config,
      { filter: {}, dryRun: false, deleteReplayed: true, say: (line) => said.push(line) },
      createLogger('silent'),
    );
    expect(code, said.join('\n')).toBe(0);
    const received = hook.requests.flatMap((request) =>
      (JSON.parse(request.body.toString()) as Array<{ original: { from: string } }>).map(
        (event) => event.original.from,
      ),
    );
    expect(received.sort()).toEqual(['alpha', 'beta']);
  });
});
