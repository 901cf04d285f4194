import { Readable } from 'node:stream';

/** Bodies up to this size are read into reused buffers; a larger one gets its own. */
export const POOLED_BODY_BYTES = 4 * 1024 * 1024;
/** Buffers kept for reuse (pages read at once: `maxConcurrentReads`, 4 by default). */
const KEPT_BUFFERS = 4;
/**
 * A buffer is at least this large, and a quarter larger than the body it is made for: the
 * budget makes pages of 1-1.5 MB at the defaults, which vary from page to page, and a
 * buffer replaced for every slightly larger page would be the churn this pool avoids.
 */
const MIN_BUFFER_BYTES = 2 * 1024 * 1024;

/** A response body in one buffer; `release` once nothing refers to `bytes` any more. */
export interface ReadBody {
  readonly bytes: Buffer;
  release(): void;
}

/**
 * GetRecords bodies read into a few reused buffers. The SDK collects a body's chunks and
 * copies them into a new array: a megabyte of fresh memory outside V8's heap per page,
 * and V8 runs a full garbage collection every 64 MiB of such memory, marking the whole
 * heap each time (docs/performance.md: 1-2 fewer full collections per 10 in the relay,
 * ~5 % less CPU per record). The reader copies everything it keeps out of the body
 * (get-records-body.ts), so the buffer can serve the next page once the page is parsed.
 */
export class BodyBuffers {
  private readonly free: Buffer[] = [];

  /**
   * The body of `length` bytes (its Content-Length) from `stream`. A stream that sends
   * another number of bytes yields exactly what it sent (in a buffer of its own), so the
   * parser, or the SDK after it, sees the body as it came.
   */
  async read(stream: Readable, length: number): Promise<ReadBody> {
    const pooled = length <= POOLED_BODY_BYTES;
    const buffer = pooled ? this.take(length) : Buffer.allocUnsafeSlow(length);
    let used = 0;
    const beyond: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const fits = Math.min(bytes.byteLength, length - used);
      bytes.copy(buffer, used, 0, fits);
      used += fits;
      if (fits < bytes.byteLength) beyond.push(bytes.subarray(fits));
    }
    if (used === length && beyond.length === 0) {
      return {
        bytes: buffer.subarray(0, length),
        release: pooled ? once(() => this.give(buffer)) : noop,
      };
    }
    const exact = Buffer.concat([buffer.subarray(0, used), ...beyond]);
    if (pooled) this.give(buffer);
    return { bytes: exact, release: noop };
  }

  private take(length: number): Buffer {
    const index = this.free.findIndex((buffer) => buffer.byteLength >= length);
    if (index >= 0) return this.free.splice(index, 1)[0] as Buffer;
    // A kept buffer too small for this page is dropped for a larger one.
    if (this.free.length > 0) this.free.shift();
    return Buffer.allocUnsafeSlow(
      Math.min(POOLED_BODY_BYTES, Math.max(MIN_BUFFER_BYTES, Math.ceil(length * 1.25))),
    );
  }

  private give(buffer: Buffer): void {
    if (this.free.length < KEPT_BUFFERS) this.free.push(buffer);
  }
}

/** The Content-Length of a plain (not content-encoded) body; null when there is none. */
export function plainContentLength(
  headers: Readonly<Record<string, string | undefined>>,
): number | null {
  let length: number | null = null;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'content-encoding' && value !== undefined && value !== 'identity') return null;
    if (lower === 'content-length' && value !== undefined && /^\d+$/.test(value.trim())) {
      length = Number(value.trim());
    }
  }
  return length;
}

export function isNodeReadable(body: unknown): body is Readable {
  return body instanceof Readable;
}

function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    action();
  };
}

function noop(): void {}
