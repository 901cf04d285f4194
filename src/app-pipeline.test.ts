import { describe, expect, it } from 'vitest';
import { decodePoolPlan, decoderOptions } from './app-pipeline.js';
import { validateConfig } from './config/load.js';

const sinks = [{ name: 'hook', type: 'webhook', url: 'http://127.0.0.1:1/hook' }];
const configWith = (streams: Record<string, unknown>) =>
  validateConfig({ application: 'ids', sinks, ...streams }, 'test', {});

describe('decoderOptions', () => {
  it('position ids name their stream only when more than one stream is read', () => {
    expect(decoderOptions(configWith({ stream: { name: 'a' } }))).toEqual({ streamInIds: false });
    expect(decoderOptions(configWith({ streams: [{ name: 'a' }] }))).toEqual({
      streamInIds: false,
    });
    expect(decoderOptions(configWith({ streams: [{ name: 'a' }, { name: 'b' }] }))).toEqual({
      streamInIds: true,
    });
  });
});

describe('decodePoolPlan (consumer.workerThreads)', () => {
  const s3 = { name: 'archive', type: 's3', bucket: 'archive-bucket', format: 'csv' };
  const plan = (extra: Record<string, unknown>, budgetMiB = 128) => {
    const config = validateConfig(
      { application: 'threads', stream: { name: 'a' }, sinks: [s3], ...extra },
      'test',
      {},
    );
    const result = decodePoolPlan(config, config.sinks, budgetMiB << 20, {
      parallelism: 4,
      limit: null,
    });
    return 'spec' in result
      ? { threads: result.threads, wholePages: Boolean(result.spec.chunks) }
      : { threads: 0, why: result.why };
  };

  it('auto: whole pages where every sink takes them, one thread per 32 MiB of the budget', () => {
    expect(plan({})).toEqual({ threads: 3, wholePages: true });
    expect(plan({}, 32)).toEqual({ threads: 1, wholePages: true });
    expect(plan({}, 16)).toEqual({ threads: 0, why: null });
    expect(plan({ consumer: { maxConcurrentReads: 1 } })).toEqual({ threads: 1, wholePages: true });
  });

  it('auto: whole pages with a deadLetter too (each chunk carries its records)', () => {
    const dlq = { deadLetter: { type: 'directory', path: '/tmp/dlq' } };
    expect(plan(dlq, 32)).toEqual({ threads: 1, wholePages: true });
  });

  it('auto: none where pages cannot go whole (a webhook, exactly-once, enhanced fan-out)', () => {
    expect(
      plan({ sinks: [s3, { name: 'hook', type: 'webhook', url: 'http://127.0.0.1:1/' }] }),
    ).toMatchObject({ threads: 0, why: expect.stringMatching(/whole pages only/) });
    expect(plan({ sinks: [{ ...s3, exactlyOnce: true }] })).toMatchObject({ threads: 0 });
    expect(plan({ consumer: { mode: 'fanout' } })).toMatchObject({
      threads: 0,
      why: expect.stringMatching(/fan-out/),
    });
  });

  it('a number starts that many threads, for records page by page where pages cannot go whole', () => {
    expect(plan({ consumer: { workerThreads: 1 } }, 32)).toEqual({ threads: 1, wholePages: true });
    const hook = { name: 'hook', type: 'webhook', url: 'http://127.0.0.1:1/' };
    expect(plan({ consumer: { workerThreads: 2 }, sinks: [s3, hook] })).toEqual({
      threads: 2,
      wholePages: false,
    });
    expect(plan({ consumer: { workerThreads: 0 } })).toEqual({ threads: 0, why: null });
  });
});
