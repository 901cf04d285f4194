import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RelayError } from '../../core/errors.js';
import type { DeadLetterStore } from './dead-letter-writer.js';
import { DurableDirectory, type OpenFile } from './durable-directory.js';
import { FileCallDeadline } from './file-call-deadline.js';

/**
 * How long one filesystem call of the `directory` store may take, as the S3 client's idle
 * timeout (30 s): past it the call is abandoned and the file written again, so a hung
 * NFS or EBS mount costs retries and error lines, never a writer (and every shard's
 * checkpoint) blocked for good.
 */
export const DIRECTORY_CALL_TIMEOUT_MS = 30_000;

export interface DirectoryStoreOptions {
  readonly timeoutMs?: number;
  /** Opens files and directories; a test passes one that hangs as a dead mount does. */
  readonly open?: OpenFile;
}

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

export function directoryDeadLetterStore(
  root: string,
  options: DirectoryStoreOptions = {},
): DeadLetterStore {
  const timeoutMs = options.timeoutMs ?? DIRECTORY_CALL_TIMEOUT_MS;
  const deadline = new FileCallDeadline(
    timeoutMs,
    (what) =>
      new RelayError(
        'DEAD_LETTER_WRITE_TIMEOUT',
        `${what} under ${root} did not return within ${timeoutMs} ms`,
        { retriable: true },
      ),
  );
  const directory = new DurableDirectory(root, deadline, options.open);
  return {
    description: root,
    put: (relativeKey, body) => directory.write(relativeKey, body),
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
