import { describe, expect, it } from 'vitest';
import { AWKWARD_TEXT } from '../core/fixtures/awkward-text.js';
import { jsonText } from '../core/json-text.js';
import { mayHoldUnsafeInteger, withExactIntegers } from './exact-integers.js';
import { parseJsonBytes } from './parse-json.js';

const bytes = (text: string) => Buffer.from(text);

function parsed(text: string) {
  const result = parseJsonBytes(bytes(text));
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

describe('mayHoldUnsafeInteger', () => {
  it('finds an integer of 16 or more digits wherever it starts, whatever its sign and length', () => {
    for (const literal of ['9007199254740993', '-9223372036854775808', '1'.repeat(40)]) {
      for (let pad = 0; pad < 40; pad += 1) {
        const text = `{"${'k'.repeat(pad)}":${literal}}`;
        expect(mayHoldUnsafeInteger(bytes(text)), text).toBe(true);
        expect(mayHoldUnsafeInteger(bytes(`[${' '.repeat(pad)}${literal}]`))).toBe(true);
      }
      expect(mayHoldUnsafeInteger(bytes(literal))).toBe(true);
    }
  });

  it('passes over shorter digit runs, fractions, exponents and digits that end a word', () => {
    for (const text of [
      '{"t":1700000000000,"u":123456789012345,"v":[999999999999999,1]}',
      '{"lat":37.774929500000001,"x":0.30000000000000004}',
      '{"e":1e+1234567890123456}',
      '{"id":"abc12345678901234567890","k":"x_12345678901234567890"}',
      '',
    ]) {
      expect(mayHoldUnsafeInteger(bytes(text)), text).toBe(false);
    }
  });
});

describe('withExactIntegers', () => {
  it('makes integers beyond 2^53 bigints and leaves every other number as JSON.parse reads it', () => {
    const text =
      '{"a":12345678901234567890,"b":[-9223372036854775808,9007199254740991,1.5,-0,1e2],' +
      '"c":9007199254740992,"d":12345678901234567890.5}';
    expect(parsed(text)).toEqual({
      a: 12345678901234567890n,
      b: [-9223372036854775808n, 9007199254740991, 1.5, -0, 100],
      c: 9007199254740992n,
      d: Number('12345678901234567890.5'),
    });
  });

  it('reads everything else as JSON.parse does: strings, escapes, duplicate keys, __proto__', () => {
    const documents = [
      JSON.stringify({
        texts: AWKWARD_TEXT,
        keys: Object.fromEntries(AWKWARD_TEXT.map((t) => [t, t])),
      }),
      '{"dup":1,"dup":{"x":2},"dup":[3]}',
      '{"__proto__":{"polluted":true},"1":"integer key first","a":null}',
      ' \t\r\n{ "a" : [ true , false , null , "\\/\\b\\f\\n\\r\\t\\u00e9\\ud834\\udd1e" ] } ',
    ];
    for (const text of documents) {
      const big = text.replace(/}\s*$/, ',"big":12345678901234567890}');
      const exact = withExactIntegers(big, JSON.parse(big) as never) as Record<string, unknown>;
      const { big: integer, ...rest } = exact;
      expect(integer).toBe(12345678901234567890n);
      expect(rest).toEqual(JSON.parse(text));
      expect(Object.keys(rest)).toEqual(Object.keys(JSON.parse(text) as object));
      expect(Object.getPrototypeOf(rest)).toBe(Object.prototype);
      expect(jsonText(exact)).toBe(
        JSON.stringify(JSON.parse(big)).replace('12345678901234567000', '12345678901234567890'),
      );
    }
  });

  it("keeps JSON.parse's value where no integer is beyond 2^53, even after a long digit run", () => {
    const text = '{"s":"order 12345678901234567890","n":1000000000000000}';
    const value = JSON.parse(text) as never;
    expect(withExactIntegers(text, value)).toBe(value);
  });
});

describe('jsonText', () => {
  it('writes what JSON.stringify writes for values without a bigint', () => {
    const values: unknown[] = [
      { a: 1, b: [1, 'x', null, true], c: { d: -0, e: 1e21, f: 1.5e-7 } },
      AWKWARD_TEXT,
      Object.fromEntries(AWKWARD_TEXT.map((text) => [text, text])),
      { 2: 'b', 1: 'a', z: undefined, y: () => 1, d: new Date(0), n: Number.NaN },
      [undefined, () => 1],
      'text',
      42,
      null,
    ];
    for (const value of values) expect(jsonText(value)).toBe(JSON.stringify(value));
  });

  it('writes a bigint as its digits wherever it is', () => {
    expect(jsonText(-9223372036854775808n)).toBe('-9223372036854775808');
    expect(
      jsonText({ a: [1n, { b: 12345678901234567890n, u: undefined }], d: new Date(0), s: 'é"' }),
    ).toBe('{"a":[1,{"b":12345678901234567890}],"d":"1970-01-01T00:00:00.000Z","s":"é\\""}');
  });

  it('still throws on a cycle', () => {
    const cycle: Record<string, unknown> = { n: 1n };
    cycle['self'] = cycle;
    expect(() => jsonText(cycle)).toThrow();
  });
});
