import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { csvCell, csvJsonObjectCell, csvLine } from './csv-text.js';
import { AWKWARD_TEXT } from './fixtures/awkward-text.js';

/** What csv-stringify writes for one field: its line without the LF. */
const stringifiedCell = (value: string) => stringify([[value]]).slice(0, -1);

describe('csvCell', () => {
  it('quotes a field exactly as csv-stringify does', () => {
    for (const text of AWKWARD_TEXT) expect(csvCell(text)).toBe(stringifiedCell(text));
  });
});

describe('csvLine', () => {
  it('writes a line of awkward fields exactly as csv-stringify does', () => {
    expect(csvLine(AWKWARD_TEXT)).toBe(stringify([AWKWARD_TEXT]));
    expect(csvLine([])).toBe('\n');
  });
});

describe('csvJsonObjectCell', () => {
  /** The field the line held before: the JSON text, quoted as csv-stringify quotes it. */
  const reference = (object: unknown) => stringifiedCell(JSON.stringify(object) ?? '');

  it('writes the JSON text of objects of strings as csv-stringify quotes it', () => {
    for (const text of AWKWARD_TEXT) {
      for (const object of [{ [text]: 'v' }, { k: text }, { [text]: text, after: 'x' }]) {
        expect(csvJsonObjectCell(object)).toBe(reference(object));
      }
    }
    expect(csvJsonObjectCell({})).toBe('{}');
    expect(csvJsonObjectCell({ campaign: 'spring', pad: 'xx' })).toBe(
      '"{""campaign"":""spring"",""pad"":""xx""}"',
    );
  });

  it('writes numbers as JSON does, non-finite ones included', () => {
    const numbers = [0, -0, 1, -3, 1.5, 0.1 + 0.2, 1e21, 1e-7, 2 ** 53 + 2, -1e300, 5e-324];
    for (const value of [...numbers, Number.NaN, Infinity, -Infinity]) {
      expect(csvJsonObjectCell({ n: value })).toBe(reference({ n: value }));
    }
    expect(csvJsonObjectCell({ items: 0, price: 12.5 })).toBe('"{""items"":0,""price"":12.5}"');
  });

  it('keeps JSON member order and skips what JSON skips', () => {
    const objects: unknown[] = [
      { b: '1', 2: 'two', a: 3, 1: 'one' },
      { kept: 'x', gone: undefined, fn: () => 1 },
      { nested: { a: '"' }, list: [1, '2'], none: null, yes: true },
      JSON.parse('{"__proto__":"own","x":"y"}'),
      Object.assign(Object.create({ inherited: 'not JSON' }) as object, { own: 'JSON' }),
      { toJSON: () => ({ replaced: 'yes' }) },
      { toJSON: 'a string member, not a method' },
      new (class {
        readonly own = 'x';
        toJSON() {
          return { replaced: 'by toJSON' };
        }
      })(),
      Object.defineProperty({ shown: 'a' }, 'hidden', { value: 'b', enumerable: false }),
    ];
    for (const object of objects) expect(csvJsonObjectCell(object)).toBe(reference(object));
  });

  it('writes what is not an object as its JSON text, or nothing for undefined', () => {
    for (const value of [null, undefined, [], ['a,b'], 'text', 'say "hi"', 7, true]) {
      expect(csvJsonObjectCell(value)).toBe(reference(value));
    }
    expect(csvJsonObjectCell(undefined)).toBe('');
  });
});
