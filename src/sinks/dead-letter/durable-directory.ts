import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open as openFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { FileCallDeadline } from './file-call-deadline.js';

export type OpenFile = (path: string, flags: string) => Promise<FileHandle>;

/**
 * Bytes written and synced per call: each call moves at most this much, so a deadline per
 * call tells a hung mount (no call returns) from a slow one (30 s per MiB still goes on).
 * A single fsync of a whole 64 MiB file could outlast any deadline on a slow volume, and
 * every retry would then be cut off the same way.
 */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Stores files under a root so that a file is there in full or not at all, and survives a
 * power loss once `write` resolves (its records are then checkpointed past): written under
 * a temporary name beside it (a dot name ending in `.partial`, which no reader takes for a
 * `.jsonl` file), synced, renamed, and its directory synced, since the name is an entry
 * there. A new directory's own entry is in its parent: the first file in a directory this
 * process has not made durable yet syncs every directory up to the root.
 */
export class DurableDirectory {
  private readonly root: string;
  /** The last directory whose whole chain up to the root was synced. */
  private durableDirectory: string | undefined;

  constructor(
    root: string,
    private readonly deadline: FileCallDeadline,
    private readonly open: OpenFile = openFile,
  ) {
    this.root = resolve(root);
  }

  async write(relativeKey: string, body: Buffer): Promise<void> {
    const path = join(this.root, relativeKey);
    const directory = dirname(path);
    const call = this.deadline.call.bind(this.deadline);
    const created = await call('mkdir', () => mkdir(directory, { recursive: true }));
    // Made again (removed while we ran): its entry in its parent is new, and not yet synced.
    if (created !== undefined) this.durableDirectory = undefined;
    const temporary = join(
      directory,
      `.${basename(path)}.${randomBytes(4).toString('hex')}.partial`,
    );
    const removeTemporary = (): void => void rm(temporary, { force: true }).catch(() => undefined);
    const closeLate = (late: FileHandle): void =>
      void late.close().then(removeTemporary, removeTemporary);
    const file = await call('open', () => this.open(temporary, 'wx'), closeLate);
    try {
      for (let offset = 0; offset < body.length; offset += CHUNK_BYTES) {
        const length = Math.min(CHUNK_BYTES, body.length - offset);
        await call('write', () => writeFully(file, body, offset, length));
        await call('fdatasync', () => file.datasync());
      }
      await call('fsync', () => file.sync());
      await call('close', () => file.close());
    } catch (error) {
      // A handle with a call still blocked on it is closed once that call returns.
      closeLate(file);
      throw error;
    }
    try {
      await call('rename', () => rename(temporary, path));
    } catch (error) {
      removeTemporary();
      throw error;
    }
    await this.syncDirectories(directory);
  }

  private async syncDirectories(leaf: string): Promise<void> {
    if (this.durableDirectory === leaf) return this.syncDirectory(leaf);
    for (let directory = leaf; ; directory = dirname(directory)) {
      await this.syncDirectory(directory);
      if (directory === this.root || directory === dirname(directory)) break;
    }
    this.durableDirectory = leaf;
  }

  private async syncDirectory(directory: string): Promise<void> {
    const call = this.deadline.call.bind(this.deadline);
    const handle = await call(
      'open directory',
      () => this.open(directory, 'r'),
      (late) => {
        void late.close().catch(() => undefined);
      },
    );
    try {
      await call('fsync directory', () => handle.sync());
    } catch (error) {
      // A filesystem that cannot sync a directory (some FUSE and network ones) answers
      // EINVAL every time: failing for that would stop the writer for good.
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
    } finally {
      void handle.close().catch(() => undefined);
    }
  }
}

/** Writes all `length` bytes at `offset` (one write may take fewer). */
async function writeFully(
  file: FileHandle,
  body: Buffer,
  offset: number,
  length: number,
): Promise<void> {
  let written = 0;
  while (written < length) {
    const { bytesWritten } = await file.write(
      body,
      offset + written,
      length - written,
      offset + written,
    );
    written += bytesWritten;
  }
}
