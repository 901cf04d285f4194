import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { directoryDeadLetter, readDeadLetters } from '../../../test/support/dead-letters.js';
import { AckCounter, quietSinkDeps } from '../../../test/support/events.js';
import { userRecord } from '../../../test/support/user-record.js';
import { RelayError } from '../../core/errors.js';
import { deadLetterEntry } from '../dead-letter-entry.js';
import { DeadLetterWriter } from './dead-letter-writer.js';
import { directoryDeadLetterStore } from './stores.js';

/**
 * A filesystem call that really hangs, as on a hung NFS or EBS mount: opening a FIFO for
 * writing blocks in the kernel until a reader opens it. `release` opens one.
 */
function hungMount(root: string) {
  const fifo = join(root, 'hung-mount.fifo');
  execFileSync('mkfifo', [fifo]);
  const hung: Array<Promise<FileHandle>> = [];
  let reader: number | undefined;
  return {
    /** Opens that hang until `release`, each as the real open of a hung mount would. */
    open(): Promise<FileHandle> {
      const call = open(fifo, 'w');
      hung.push(call);
      return call;
    },
    get hungCalls(): number {
      return hung.length;
    },
    async release(): Promise<void> {
      reader ??= openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      await Promise.allSettled(hung);
    },
    close(): void {
      if (reader !== undefined) closeSync(reader);
    },
  };
}

const mounts: Array<ReturnType<typeof hungMount>> = [];
afterEach(async () => {
  // A blocked open holds a libuv thread and the test worker: always let it finish.
  for (const mount of mounts.splice(0)) {
    await mount.release();
    mount.close();
  }
});

/** Every file under `root`, relative. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(root.length + 1));
}

describe('directoryDeadLetterStore', () => {
  it('a stored file is synced before it gets its name, and its directory after', async () => {
    // Records are checkpointed past once their file is stored: a file only in the page
    // cache, or a name not yet in its directory on disk, vanished on power loss with them.
    const { path: root } = directoryDeadLetter();
    const key = '2026/12/06/09/dead-letter-20261206T090000-0123456789abcdef.jsonl';
    const final = join(root, key);
    const syncs: Array<{ opened: string; flags: string; finalExists: boolean }> = [];
    const store = directoryDeadLetterStore(root, {
      open: async (path, flags) => {
        const handle = await open(path, flags);
        const sync = handle.sync.bind(handle);
        handle.sync = async () => {
          syncs.push({ opened: path, flags, finalExists: existsSync(final) });
          await sync();
        };
        return handle;
      },
    });
    await store.put(key, Buffer.from('{"a":1}\n'));

    expect(readFileSync(final, 'utf8')).toBe('{"a":1}\n');
    // No partial file is ever seen under the name: written aside, synced, then renamed.
    expect(filesUnder(root)).toEqual([key]);
    const fileSync = syncs.find((sync) => sync.flags === 'wx');
    expect(fileSync?.finalExists).toBe(false);
    expect(fileSync?.opened).not.toBe(final);
    const leafSync = syncs.find((sync) => sync.opened === join(root, '2026/12/06/09'));
    expect(leafSync?.finalExists).toBe(true);
    // The directories made for it are synced too, up to the root that holds the first.
    const synced = new Set(syncs.map((sync) => sync.opened));
    for (const dir of ['', '2026', '2026/12', '2026/12/06']) {
      expect(synced.has(join(root, dir))).toBe(true);
    }
  });

  it('a write that hangs is abandoned at its deadline and its retry stores the file', async () => {
    // Without a deadline one hung write held the writer, and with it every shard's checkpoint.
    const { path: root } = directoryDeadLetter();
    const mount = hungMount(root);
    mounts.push(mount);
    let fileOpens = 0;
    // Long enough that a real call on a loaded machine is not abandoned too.
    const store = directoryDeadLetterStore(root, {
      timeoutMs: 2_000,
      open: (path, flags) => {
        if (flags === 'wx' && fileOpens++ === 0) return mount.open();
        return open(path, flags);
      },
    });
    const { metrics, log } = quietSinkDeps();
    const writer = new DeadLetterWriter(store, metrics, log, 1 << 20);
    const acks = new AckCounter();
    const record = userRecord({ sequenceNumber: '1234' });
    writer.write(deadLetterEntry(record, 'decode_failed', 'not JSON'), acks.handle());
    await writer.close();

    expect(mount.hungCalls).toBe(1);
    expect(fileOpens).toBeGreaterThanOrEqual(2);
    expect(acks.acked).toBe(1);
    expect(readDeadLetters(root).map((entry) => entry.sequenceNumber)).toEqual(['1234']);
  });

  it('a mount where every call hangs ties up at most two calls, and writes go on once it answers', async () => {
    // A blocked filesystem call holds one of libuv's 4 threads, which DNS lookups and every
    // other file call share: a new one per retry would stall the whole process.
    const { path: root } = directoryDeadLetter();
    const mount = hungMount(root);
    mounts.push(mount);
    let answering = false;
    const store = directoryDeadLetterStore(root, {
      timeoutMs: 500,
      open: (path, flags) => (answering ? open(path, flags) : mount.open()),
    });
    const key = '2026/12/06/09/dead-letter-20261206T090000-0123456789abcdef.jsonl';
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const failed = await store.put(key, Buffer.from('{"a":1}\n')).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failed).toBeInstanceOf(RelayError);
      expect((failed as RelayError).retriable).toBe(true);
      expect((failed as RelayError).code).toBe('DEAD_LETTER_WRITE_TIMEOUT');
    }
    expect(mount.hungCalls).toBe(2);

    answering = true;
    await mount.release();
    // As the writer does: again until it goes through (a real call may be slow here too).
    for (let attempt = 1; ; attempt += 1) {
      const stored = await store.put(key, Buffer.from('{"a":1}\n')).then(
        () => true,
        (error: unknown) => {
          if (attempt >= 20) throw error;
          return false;
        },
      );
      if (stored) break;
    }
    expect(readFileSync(join(root, key), 'utf8')).toBe('{"a":1}\n');
    expect(mount.hungCalls).toBe(2);
    expect(filesUnder(root)).toEqual([key]);
  });
});
