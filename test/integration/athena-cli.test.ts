import { describe, expect, it } from 'vitest';
import { runCli, writeConfig } from '../support/relay-process.js';

const config = (sink: Record<string, unknown>) =>
  writeConfig({
    application: 'app',
    stream: { name: 'events' },
    decode: { format: 'pinpoint' },
    sinks: [
      { name: 'hooks', type: 'webhook', url: 'https://example.com/hook' },
      { name: 'lake', type: 's3', bucket: 'my-lake', ...sink },
    ],
  });

describe('kinesis-relay athena ddl', () => {
  it("prints the S3 sink's table with partition projection and exits 0", async () => {
    const file = config({ format: 'parquet', layout: 'athena', partitionBy: 'event' });
    const { code, output } = await runCli([
      'athena',
      'ddl',
      '--config',
      file,
      '--sink',
      'lake',
      '--since',
      '2026-01-01',
    ]);
    expect(code).toBe(0);
    expect(output).toContain('CREATE EXTERNAL TABLE IF NOT EXISTS `lake_events` (');
    expect(output).toContain('STORED AS PARQUET');
    expect(output).toContain("'projection.dt.range' = '2026-01-01,NOW'");
    expect(output).toContain(
      "'storage.location.template' = 's3://my-lake/events/dt=${dt}/hour=${hour}/'",
    );
  }, 60_000);

  it('exits 2 naming the problem: an unknown sink, a layout Athena cannot project', async () => {
    const unknown = await runCli(['athena', 'ddl', '--config', config({}), '--sink', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toMatch(/--sink: no S3 sink named nope/);
    const shard = await runCli([
      'athena',
      'ddl',
      '--config',
      config({ layout: '{shard}/{yyyy}/{mm}/' }),
    ]);
    expect(shard.code).toBe(2);
    expect(shard.output).toMatch(/sinks\.lake\.layout: \{shard\} varies within a table/);
  }, 60_000);
});
