import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** One dead-letter file: where it is, and how to read or remove it. */
export interface DeadLetterFile {
  /** Relative to the destination root, e.g. `2026/11/22/23/dead-letter-….jsonl`. */
  readonly name: string;
  read(): Promise<string>;
  remove(): Promise<void>;
}

/** A dead-letter destination read back: its files, oldest first (names sort by time). */
export interface DeadLetterSource {
  readonly description: string;
  list(): Promise<DeadLetterFile[]>;
}

export function s3DeadLetterSource(s3: S3Client, bucket: string, prefix: string): DeadLetterSource {
  return {
    description: `s3://${bucket}/${prefix}`,
    async list() {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key?.endsWith('.jsonl')) keys.push(object.Key);
        }
        token = page.NextContinuationToken;
      } while (token);
      return keys.sort().map((key) => ({
        name: key.slice(prefix.length),
        read: async () => {
          const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          return (await response.Body?.transformToString('utf8')) ?? '';
        },
        remove: async () => {
          await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        },
      }));
    },
  };
}

export function directoryDeadLetterSource(root: string): DeadLetterSource {
  return {
    description: root,
    async list() {
      let names: string[];
      try {
        names = (await readdir(root, { recursive: true })).map(String);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      return names
        .filter((name) => name.endsWith('.jsonl'))
        .map((name) => relative(root, join(root, name)))
        .sort()
        .map((name) => ({
          name,
          read: () => readFile(join(root, name), 'utf8'),
          remove: () => rm(join(root, name)),
        }));
    },
  };
}
