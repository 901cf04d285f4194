import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { gunzipSync } from 'node:zlib';

export interface StoredObject {
  readonly key: string;
  readonly text: string;
}

/** Every object under a prefix, decompressed, with ListObjectsV2 pagination followed. */
export async function readObjects(
  s3: S3Client,
  bucket: string,
  prefix = '',
): Promise<StoredObject[]> {
  const objects: StoredObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const entry of page.Contents ?? []) {
      const key = entry.Key ?? '';
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      objects.push({
        key,
        text: (key.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'),
      });
    }
    token = page.NextContinuationToken;
  } while (token);
  return objects;
}

/** The JSON lines of every `.jsonl` object under a prefix, parsed. */
export async function readJsonLines<T>(s3: S3Client, bucket: string, prefix = ''): Promise<T[]> {
  const objects = await readObjects(s3, bucket, prefix);
  return objects
    .filter((object) => object.key.includes('.jsonl'))
    .flatMap((object) =>
      object.text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as T),
    );
}
