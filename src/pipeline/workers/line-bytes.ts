import { releaseNow } from '../../core/release-now.js';

const FIRST_CAPACITY = 64 * 1024;

/**
 * Lines written as UTF-8 into a buffer that grows, instead of kept as strings until they
 * are joined: a line string is garbage as soon as it is written, so a page's lines are not
 * carried through the scavenges of the rest of the page and promoted (docs/performance.md).
 */
export class LineBytes {
  private buffer: Buffer | null = null;
  private used = 0;

  /** The UTF-8 bytes written so far. */
  get length(): number {
    return this.used;
  }

  /** `line` with its UTF-8 length as the encoder measured it (Buffer.byteLength). */
  write(line: string, utf8Length: number): void {
    const needed = this.used + utf8Length;
    if (!this.buffer || needed > this.buffer.byteLength) this.grow(needed);
    const buffer = this.buffer as Buffer;
    const written = buffer.write(line, this.used, utf8Length, 'utf8');
    if (written !== utf8Length) {
      throw new Error(`unreachable: ${written} of a line's ${utf8Length} UTF-8 bytes written`);
    }
    this.used = needed;
  }

  /** The bytes written, a buffer of their own; this starts empty again. */
  take(): Buffer {
    const buffer = this.buffer;
    const used = this.used;
    this.buffer = null;
    this.used = 0;
    if (!buffer) return Buffer.alloc(0);
    if (used === buffer.byteLength) return buffer;
    const exact = Buffer.allocUnsafeSlow(used);
    buffer.copy(exact, 0, 0, used);
    releaseNow(buffer);
    return exact;
  }

  private grow(needed: number): void {
    let capacity = this.buffer ? this.buffer.byteLength * 2 : FIRST_CAPACITY;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafeSlow(capacity);
    if (this.buffer) {
      this.buffer.copy(grown, 0, 0, this.used);
      releaseNow(this.buffer);
    }
    this.buffer = grown;
  }
}
