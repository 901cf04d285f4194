import * as zlib from 'node:zlib';

/** zlib's zstd decompressor, for tests on runtimes that have it. */
export function zstdDecompressForTest(input: Buffer): Buffer {
  const decompress = (zlib as unknown as { zstdDecompressSync?: (input: Buffer) => Buffer })
    .zstdDecompressSync;
  if (!decompress) throw new Error('zlib has no zstd on this runtime');
  return decompress(input);
}
