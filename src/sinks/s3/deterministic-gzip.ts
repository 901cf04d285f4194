import { promisify } from 'node:util';
import { constants, gzip, type ZlibOptions } from 'node:zlib';

const gzipAsync = promisify(gzip);

/** Offset of the OS byte in a gzip member header (RFC 1952, section 2.3). */
const OS_BYTE = 9;
const OS_UNIX = 3;

/** zlib's default level (what Z_DEFAULT_COMPRESSION means), and the sink's `gzipLevel` default. */
export const DEFAULT_GZIP_LEVEL = 6;

/**
 * The gzip settings of every text object: fixed but for the level (the sink's
 * `gzipLevel`), so the bytes depend on the input and that setting only.
 */
export function gzipOptions(level: number = DEFAULT_GZIP_LEVEL): ZlibOptions {
  return {
    level,
    strategy: constants.Z_DEFAULT_STRATEGY,
    memLevel: 8,
    windowBits: 15,
  };
}

/**
 * Node's zlib writes MTIME 0 and no file name; the OS byte is zlib's build platform, so it
 * is pinned to Unix (3) to keep objects written from a Mac or Windows build identical.
 */
export function pinGzipOsByte(member: Buffer): Buffer {
  member[OS_BYTE] = OS_UNIX;
  return member;
}

/**
 * gzip whose bytes depend only on the input and the level (gzipOptions). The deflate
 * stream itself is stable for one zlib build; another zlib version may compress
 * differently (same decompressed bytes), see docs/s3-sink.md.
 */
export async function deterministicGzip(
  input: Buffer,
  level: number = DEFAULT_GZIP_LEVEL,
): Promise<Buffer> {
  return pinGzipOsByte(await gzipAsync(input, gzipOptions(level)));
}
