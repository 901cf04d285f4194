import { finished } from 'node:stream/promises';
import { createGzip, type Gzip } from 'node:zlib';
import { DEFAULT_GZIP_LEVEL, gzipOptions, pinGzipOsByte } from './deterministic-gzip.js';

/** Lines are copied into chunks of this size before they go to the compressor. */
const CHUNK_BYTES = 64 * 1024;

/**
 * What one deflate stream holds besides its output: zlib's window and hash tables at
 * windowBits 15 and memLevel 8 (2^17 + 2^17 bytes), and Node's output buffer. A batch
 * switches to compressing as it goes only once its lines hold more than this.
 */
export const DEFLATE_STATE_BYTES = 256 * 1024 + 16 * 1024;

/**
 * An object body gzipped as its lines arrive, so that a batch waiting for its upload
 * holds compressed bytes instead of one string per event. The lines go through chunks of
 * 64 KiB (one copy, as the body built at the end would make), then to zlib on libuv's
 * threads; the same gzip settings as `deterministicGzip`.
 */
export class StreamingGzip {
  private readonly gzip: Gzip;
  private readonly output: Buffer[] = [];
  private outputBytes = 0;
  private chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  private used = 0;
  private readonly done: Promise<void>;

  constructor(level: number = DEFAULT_GZIP_LEVEL) {
    this.gzip = createGzip(gzipOptions(level));
    this.gzip.on('data', (data: Buffer) => {
      this.output.push(data);
      this.outputBytes += data.byteLength;
    });
    this.done = finished(this.gzip);
    // Rejections surface in `finish`; until then one must not end the process.
    this.done.catch(() => undefined);
  }

  /** Appends `text`, which is `bytes` long in UTF-8. */
  write(text: string, bytes: number): void {
    if (this.used + bytes > this.chunk.byteLength) this.flushChunk();
    if (bytes > this.chunk.byteLength) {
      this.gzip.write(Buffer.from(text));
      return;
    }
    this.used += this.chunk.write(text, this.used);
  }

  /** The whole gzip member, once zlib has compressed everything written. */
  async finish(): Promise<Buffer> {
    this.flushChunk();
    this.gzip.end();
    await this.done;
    const body = Buffer.concat(this.output, this.outputBytes);
    return pinGzipOsByte(body);
  }

  private flushChunk(): void {
    if (this.used === 0) return;
    this.gzip.write(this.chunk.subarray(0, this.used));
    this.chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    this.used = 0;
  }
}
