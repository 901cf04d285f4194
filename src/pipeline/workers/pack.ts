import { releaseNow } from '../../core/release-now.js';

/**
 * A growable byte buffer written and read in one order: the wire format between the shard
 * loops and the decode workers. One ArrayBuffer per message, so it moves between threads
 * as a transferable (no structured clone of thousands of objects).
 *
 * Two kinds of strings: `text` is UTF-16 code units, exact for any JavaScript string (lone
 * surrogates included: error texts and partition keys end up in JSON documents, where
 * `\ud800` and U+FFFD differ); `utf8` is for encoded lines, whose only use is to be written
 * as UTF-8 into an object body, so converting them once more on the way back cannot change a
 * byte of the output. Repeated short strings (event types, directories) go by reference to
 * a table written once at the end.
 */
export class PackWriter {
  private buffer: Buffer;
  private view: DataView;
  private offset: number;
  private readonly table = new Map<string, number>();

  /** `headerBytes` are left free at the start for `finish` (length, table offset). */
  constructor(capacity: number) {
    this.buffer = Buffer.from(new ArrayBuffer(Math.max(64, capacity)));
    this.view = new DataView(this.buffer.buffer);
    this.offset = HEADER_BYTES;
  }

  u8(value: number): void {
    this.reserve(1);
    this.view.setUint8(this.offset, value);
    this.offset += 1;
  }

  u32(value: number): void {
    this.reserve(4);
    this.view.setUint32(this.offset, value, true);
    this.offset += 4;
  }

  f64(value: number): void {
    this.reserve(8);
    this.view.setFloat64(this.offset, value, true);
    this.offset += 8;
  }

  /** Any string, exactly: its UTF-16 code units. */
  text(value: string): void {
    const bytes = value.length * 2;
    this.u32(bytes);
    this.reserve(bytes);
    this.offset += this.buffer.write(value, this.offset, bytes, 'utf16le');
  }

  /** A string that will only ever be written out as UTF-8 (an encoded line). */
  utf8(value: string): void {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8: reserve that, write, then the length.
    this.reserve(4 + value.length * 3);
    const written = this.buffer.write(value, this.offset + 4, 'utf8');
    this.view.setUint32(this.offset, written, true);
    this.offset += 4 + written;
  }

  bytes(data: Uint8Array): void {
    this.u32(data.byteLength);
    this.reserve(data.byteLength);
    this.buffer.set(data, this.offset);
    this.offset += data.byteLength;
  }

  /** A string by its index in the table (`NO_REF` for null). */
  ref(value: string | null): void {
    if (value === null) {
      this.u32(NO_REF);
      return;
    }
    let index = this.table.get(value);
    if (index === undefined) {
      index = this.table.size;
      this.table.set(value, index);
    }
    this.u32(index);
  }

  /** Bytes written so far; after `finish`, the message's length (its buffer may be longer). */
  get length(): number {
    return this.offset;
  }

  /** Writes the table and the header; returns the buffer to transfer. */
  finish(): ArrayBuffer {
    const tableOffset = this.offset;
    this.u32(this.table.size);
    for (const value of this.table.keys()) this.text(value);
    this.view.setUint32(0, this.offset, true);
    this.view.setUint32(4, tableOffset, true);
    return this.buffer.buffer as ArrayBuffer;
  }

  private reserve(bytes: number): void {
    const needed = this.offset + bytes;
    if (needed <= this.buffer.byteLength) return;
    const grown = Buffer.from(new ArrayBuffer(Math.max(needed, this.buffer.byteLength * 2)));
    this.buffer.copy(grown, 0, 0, this.offset);
    // Nothing else holds the old buffer: freed now, not when the collector gets to it.
    releaseNow(this.buffer);
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }
}

export class PackReader {
  private readonly buffer: Buffer;
  private readonly view: DataView;
  private offset = HEADER_BYTES;
  private readonly end: number;
  /** Where the body ends (the table of strings follows it). */
  private readonly bodyEnd: number;
  private readonly table: string[] = [];

  constructor(source: ArrayBuffer) {
    this.buffer = Buffer.from(source);
    this.view = new DataView(source);
    this.end = this.view.getUint32(0, true);
    const tableOffset = this.view.getUint32(4, true);
    if (this.end > source.byteLength || tableOffset > this.end) {
      throw new Error('malformed packed message: lengths past its end');
    }
    this.bodyEnd = tableOffset;
    const bodyOffset = this.offset;
    this.offset = tableOffset;
    const size = this.u32();
    for (let index = 0; index < size; index += 1) this.table.push(this.text());
    this.offset = bodyOffset;
  }

  /** Everything written before `finish` has been read. */
  get atEnd(): boolean {
    return this.offset >= this.bodyEnd;
  }

  u8(): number {
    const value = this.view.getUint8(this.offset);
    this.offset += 1;
    return value;
  }

  u32(): number {
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }

  f64(): number {
    const value = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return value;
  }

  text(): string {
    const bytes = this.u32();
    const value = this.buffer.toString('utf16le', this.offset, this.offset + bytes);
    this.offset += bytes;
    return value;
  }

  /** The string and its UTF-8 length (what a sink counts as the line's bytes). */
  utf8(): { readonly value: string; readonly bytes: number } {
    const bytes = this.u32();
    const value = this.buffer.toString('utf8', this.offset, this.offset + bytes);
    this.offset += bytes;
    return { value, bytes };
  }

  /** A view into the message, not a copy: it keeps the whole message alive. */
  bytesView(): Uint8Array {
    const length = this.u32();
    const view = new Uint8Array(this.view.buffer, this.offset, length);
    this.offset += length;
    return view;
  }

  ref(): string | null {
    const index = this.u32();
    if (index === NO_REF) return null;
    const value = this.table[index];
    if (value === undefined) throw new Error('malformed packed message: unknown string reference');
    return value;
  }
}

const HEADER_BYTES = 8;
const NO_REF = 0xffffffff;
