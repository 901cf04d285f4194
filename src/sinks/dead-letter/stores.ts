import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DeadLetterStore } from './dead-letter-writer.js';

export function s3DeadLetterStore(s3: S3Client, bucket: string, prefix: string): DeadLetterStore {
  return {
    description: `s3://${bucket}/${prefix}`,
    async put(relativeKey, body) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `${prefix}${relativeKey}`,
          Body: body,
          ContentType: 'application/x-ndjson',
        }),
      );
    },
  };
}

export function directoryDeadLetterStore(root: string): DeadLetterStore {
  return {
    description: root,
    async put(relativeKey, body) {
      const path = join(root, relativeKey);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, body);
    },
  };
}

/**
 * Where entries go when no `deadLetter` is configured: a directory under the temporary
 * directory (`$TMPDIR`, else /tmp), which the Helm chart mounts writable. Never the log:
 * entries carry the raw record bytes (personal data, often), and log shippers cut long
 * lines, so a log line would be both a leak and a lossy only copy.
 */
export function defaultDeadLetterDirectory(): string {
  return join(tmpdir(), 'kinesis-relay-dead-letter');
}
