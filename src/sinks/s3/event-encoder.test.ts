import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { csvLine } from './event-encoder.js';

describe('csvLine', () => {
  it('writes exactly what csv-stringify writes, quoting and escaping included', () => {
    const rows: string[][] = [
      ['plain', '', 'with space', ' lead', 'trail '],
      ['a,b', 'say "hi"', '"', '""', 'line\nbreak', 'cr\rhere', 'crlf\r\n'],
      ['{"k":"v","n":1}', 'ünïcødé', '=1+2', '-3', "'quote'", '\t'],
      [''],
      [],
    ];
    for (const row of rows) {
      expect(csvLine(row)).toBe(stringify([row], { eof: true }));
    }
  });
});
