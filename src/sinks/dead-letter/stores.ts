import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '../../observability/logger.js';
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
 * With no dead-letter destination configured, an entry is written to the log in full
 * (raw bytes included) at error level: kept wherever the logs are kept, never dropped.
 */
export function logDeadLetterStore(log: Logger): DeadLetterStore {
  return {
    description: 'the log (no deadLetter configured)',
    async put(_relativeKey, body) {
      for (const line of body.toString('utf8').split('\n')) {
        if (line) log.error({ deadLetter: JSON.parse(line) as unknown }, 'dead-letter entry');
      }
    },
  };
}
