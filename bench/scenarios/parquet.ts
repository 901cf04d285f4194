import { DuckDBInstance } from '@duckdb/node-api';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { zstdAvailable } from '../../src/sinks/s3/zstd.js';
import type { BenchKinesisEndpoint } from '../kinesis-endpoint/server.js';
import type { ThroughputSample } from '../lib/measure.js';
import { BUCKET, runRelay, type RelayStack } from './relay.js';

/** One S3 output the relay is measured writing. */
export interface OutputVariant {
  readonly name: string;
  readonly sink: Record<string, unknown>;
}

export const OUTPUT_VARIANTS: readonly OutputVariant[] = [
  { name: 'csv gzip', sink: { format: 'csv', compression: 'gzip' } },
  { name: 'parquet snappy', sink: { format: 'parquet', parquet: { compression: 'snappy' } } },
  { name: 'parquet gzip', sink: { format: 'parquet', parquet: { compression: 'gzip' } } },
  // The relay child runs on this process's Node: zstd only where its zlib has it.
  ...(zstdAvailable()
    ? [
        { name: 'csv zstd', sink: { format: 'csv', compression: 'zstd' } },
        { name: 'parquet zstd', sink: { format: 'parquet', parquet: { compression: 'zstd' } } },
      ]
    : []),
];

export interface OutputSample extends ThroughputSample {
  /** Bytes on S3 per record, over the objects the run completed. */
  readonly bytesPerRecord: number;
}

/** Object files s3rver keeps under a prefix of the bench bucket (its data files only). */
function objectFiles(s3Directory: string, prefix: string): string[] {
  const root = join(s3Directory, BUCKET, prefix);
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('._S3rver_object')) files.push(path);
    }
  };
  walk(root);
  return files;
}

/** Records in the objects, counted by DuckDB (Parquet footers; CSV rows after the header). */
async function recordsIn(
  files: readonly string[],
  parquet: boolean,
  compression: string,
): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const list = `[${files.map((file) => `'${file.replaceAll("'", "''")}'`).join(', ')}]`;
    const sql = parquet
      ? `SELECT sum(num_rows) AS n FROM parquet_file_metadata(${list})`
      : `SELECT count(*) AS n FROM read_csv(${list}, compression = '${compression}', header = true, all_varchar = true)`;
    const reader = await connection.runAndReadAll(sql);
    return Number(reader.getRowObjectsJS()[0]?.['n'] ?? 0);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** One relay run writing `variant`, with the bytes per record of what it wrote. */
export async function runOutputVariant(
  endpoint: BenchKinesisEndpoint,
  stack: RelayStack,
  s3Directory: string,
  variant: OutputVariant,
  run: number,
): Promise<OutputSample> {
  const prefix = `${variant.name.replace(/\W+/g, '-')}-${run}/`;
  const sample = await runRelay(endpoint, stack, { sink: { ...variant.sink, prefix } });
  const files = objectFiles(s3Directory, prefix);
  const bytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
  const records = await recordsIn(
    files,
    variant.sink['format'] === 'parquet',
    variant.sink['compression'] === 'zstd' ? 'zstd' : 'gzip',
  );
  return { ...sample, bytesPerRecord: records > 0 ? bytes / records : Number.NaN };
}
