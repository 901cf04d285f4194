import { describe, expect, it } from 'vitest';
import { decoderOptions } from './app-pipeline.js';
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
