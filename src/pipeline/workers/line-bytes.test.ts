import { describe, expect, it } from 'vitest';
import { LineBytes } from './line-bytes.js';

describe('LineBytes', () => {
  it('holds exactly the UTF-8 of the lines joined, across growths, and starts again after take', () => {
    const lines: string[] = [];
    for (let index = 0; index < 5_000; index += 1) {
      // ASCII, two-, three- and four-byte characters, and lines longer than the first capacity.
      lines.push(`${index},é,€,😀,${index % 997 === 0 ? 'x'.repeat(70_000) : 'plain'}\n`);
    }
    const text = new LineBytes();
    for (const line of lines) text.write(line, Buffer.byteLength(line));
    const expected = Buffer.from(lines.join(''));
    expect(text.length).toBe(expected.byteLength);
    const taken = text.take();
    expect(Buffer.compare(taken, expected)).toBe(0);
    expect(taken.byteOffset).toBe(0);
    expect(taken.buffer.byteLength).toBe(taken.byteLength);
    expect(text.length).toBe(0);
    text.write('next\n', 5);
    expect(text.take().toString()).toBe('next\n');
    expect(text.take().byteLength).toBe(0);
  });

  it("refuses a length that is not the line's UTF-8 length instead of writing part of it", () => {
    const text = new LineBytes();
    expect(() => text.write('€\n', 2)).toThrow(/UTF-8 bytes/);
  });
});
