import { describe, expect, it } from 'vitest';
import { configProblems as problemsOf } from '../../../test/support/config-problems.js';
import { runCli, writeConfig } from '../../../test/support/relay-process.js';
import { zstdAvailable, zstdCompress } from './zstd.js';
import { zstdDecompressForTest } from '../../../test/support/zstd.js';

const config = (sink: string) => `
application: my-app
stream: { name: events }
sinks:
  - { name: archive, type: s3, bucket: my-bucket${sink} }
`;

describe('zstd compression (where the runtime has it)', () => {
  it.runIf(zstdAvailable())(
    'is accepted for text objects and Parquet pages, and decompresses to the input',
    async () => {
      expect(problemsOf(config(', compression: zstd'))).toEqual([]);
      expect(problemsOf(config(', format: parquet, parquet: { compression: zstd }'))).toEqual([]);
      const input = Buffer.from('{"n":1}\n'.repeat(5000));
      const first = await zstdCompress(input);
      expect((await zstdCompress(input)).equals(first)).toBe(true);
      expect(zstdDecompressForTest(first).equals(input)).toBe(true);
    },
  );

  it.runIf(!zstdAvailable())(
    'is refused with the key and the reason on a runtime without it',
    async () => {
      expect(problemsOf(config(', compression: zstd')).join('\n')).toMatch(
        /sinks\.0\.compression: zstd needs Node >= 22\.15/,
      );
      expect(
        problemsOf(config(', format: parquet, parquet: { compression: zstd }')).join('\n'),
      ).toMatch(/sinks\.0\.parquet\.compression: zstd needs Node >= 22\.15/);
      const file = writeConfig({
        application: 'my-app',
        stream: { name: 'events' },
        sinks: [{ name: 'archive', type: 's3', bucket: 'my-bucket', compression: 'zstd' }],
      });
      const { code, output } = await runCli(['check-config', '--config', file]);
      expect(code).toBe(2);
      expect(output).toMatch(/sinks\.0\.compression: zstd needs Node >= 22\.15/);
    },
    60_000,
  );
});
