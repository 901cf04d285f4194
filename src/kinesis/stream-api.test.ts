import { describe, expect, it } from 'vitest';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { getEventListeners } from 'node:events';
import { KinesisCallTimeoutError, KinesisStreamApi } from './stream-api.js';

/** As the SDK's HTTP handler does: listens for an abort while the request is out. */
async function answerAtOnce(signal: AbortSignal | undefined) {
  const onAbort = () => undefined;
  signal?.addEventListener('abort', onAbort);
  await Promise.resolve();
  signal?.removeEventListener('abort', onAbort);
  return { Records: [], NextShardIterator: 'next', MillisBehindLatest: 0 };
}

/** Answers every call at once, or never (until aborted), as the SDK client would. */
function fakeClient(answer: 'at-once' | 'never'): KinesisClient {
  const send = (_command: unknown, options?: { abortSignal?: AbortSignal }) =>
    answer === 'at-once'
      ? answerAtOnce(options?.abortSignal)
      : new Promise((_resolve, reject) => {
          const signal = options?.abortSignal;
          signal?.addEventListener(
            'abort',
            () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
            { once: true },
          );
        });
  return { send } as unknown as KinesisClient;
}

/** How many signals follow `signal` (Node's AbortSignal.any bookkeeping; 0 when none). */
function followers(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find(
    (symbol) => symbol.toString() === 'Symbol(kDependantSignals)',
  );
  const set = key
    ? (signal as unknown as Record<symbol, { size?: number } | undefined>)[key]
    : undefined;
  return set?.size ?? 0;
}

describe('KinesisStreamApi deadlines', () => {
  it('a call that never answers rejects at its deadline', async () => {
    const api = new KinesisStreamApi(fakeClient('never'), 'stream-1', {
      getRecordsMs: 50,
      callMs: 50,
    });
    await expect(api.getRecords('iterator', 10)).rejects.toBeInstanceOf(KinesisCallTimeoutError);
  });

  it('a stop is a stop, not a timeout', async () => {
    const api = new KinesisStreamApi(fakeClient('never'), 'stream-1');
    const stop = new AbortController();
    const pending = api.getRecords('iterator', 10, stop.signal);
    stop.abort();
    await expect(pending).rejects.not.toBeInstanceOf(KinesisCallTimeoutError);
  });

  it('a shard loop polling for days leaves nothing behind on its stop signal', async () => {
    const api = new KinesisStreamApi(fakeClient('at-once'), 'stream-1');
    const stop = new AbortController();
    for (let i = 0; i < 1_000; i += 1) await api.getRecords('iterator', 10, stop.signal);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
    // Nor signals that follow it (AbortSignal.any keeps those, and leaks them: nodejs/node#55351).
    expect(followers(stop.signal)).toBe(0);
  });
});
