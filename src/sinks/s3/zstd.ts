import * as zlib from 'node:zlib';

type ZstdCompress = (
  input: Buffer,
  options: { params: Record<number, number> },
  callback: (error: Error | null, result: Buffer) => void,
) => void;
type ZstdCompressSync = (input: Uint8Array, options: { params: Record<number, number> }) => Buffer;

/**
 * zlib's zstd (Node >= 22.15, 23.8). Looked up by feature, not by version: the project runs
 * on Node 20 too, where it is absent and `compression: zstd` is refused at config load.
 * @types/node 20 does not declare it, hence the narrow local types.
 */
const api = zlib as unknown as {
  zstdCompress?: ZstdCompress;
  zstdCompressSync?: ZstdCompressSync;
  constants: Record<string, number | undefined>;
};

/** Fixed level, and no content checksum: the bytes depend on the input alone. */
const ZSTD_LEVEL = 3;

function zstdParams(): Record<number, number> {
  const level = api.constants.ZSTD_c_compressionLevel;
  if (level === undefined) throw new Error('zlib has no zstd on this runtime');
  return { [level]: ZSTD_LEVEL };
}

export function zstdAvailable(): boolean {
  return typeof api.zstdCompress === 'function' && typeof api.zstdCompressSync === 'function';
}

/** A zstd frame of `input` (CSV and JSON Lines objects). */
export function zstdCompress(input: Buffer): Promise<Buffer> {
  const compress = api.zstdCompress;
  if (!compress) return Promise.reject(new Error('zlib has no zstd on this runtime'));
  return new Promise((resolve, reject) => {
    compress(input, { params: zstdParams() }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
}

/** zstd for Parquet pages (the Parquet writer compresses page by page, synchronously). */
export function zstdCompressSync(input: Uint8Array): Uint8Array {
  const compress = api.zstdCompressSync;
  if (!compress) throw new Error('zlib has no zstd on this runtime');
  return compress(input, { params: zstdParams() });
}
