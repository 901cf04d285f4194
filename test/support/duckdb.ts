import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface DuckDb {
  /** Rows as plain JS values (BIGINT as bigint, TIMESTAMP as Date, DOUBLE as number). */
  query(sql: string): Promise<Record<string, unknown>[]>;
  close(): void;
}

/** An in-memory DuckDB: the real query engine our Parquet and CSV objects are read with. */
export async function openDuckDb(): Promise<DuckDb> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection: DuckDBConnection = await instance.connect();
  await connection.run("SET TimeZone = 'UTC'");
  return {
    async query(sql) {
      const reader = await connection.runAndReadAll(sql);
      return reader.getRowObjectsJS();
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** A SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Copies every object of a bucket to `directory`, keys as paths (Hive partition
 * directories included), and returns key -> bytes. ListObjectsV2 pagination followed.
 */
export async function downloadBucket(
  s3: S3Client,
  bucket: string,
  directory: string,
): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    for (const entry of page.Contents ?? []) {
      const key = entry.Key ?? '';
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      const path = join(directory, key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
      objects.set(key, bytes);
    }
    token = page.NextContinuationToken;
  } while (token);
  return objects;
}
