import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../core/event.js';
import { dateToIso, millisToIso, numberMap, stringMap } from './values.js';

describe('millisToIso', () => {
  it('writes what Date#toISOString writes, across seconds, signs, fractions and the range edge', () => {
    const samples = [
      0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, -999, -1000, -1001, -1500, 1_732_320_000_123,
      1_732_320_000_124, 1_732_320_001_000, 1_732_320_000_999, 253_402_300_799_999,
      253_402_300_800_000, 8.64e15, -8.64e15, 1.5, -0.5,
    ];
    for (const millis of samples) {
      expect(millisToIso(millis), String(millis)).toBe(new Date(millis).toISOString());
    }
    expect(millisToIso(8.64e15 + 1)).toBeNull();
    expect(millisToIso(-8.64e15 - 1)).toBeNull();
    expect(millisToIso(Number.NaN)).toBeNull();
    expect(dateToIso(new Date(1_732_320_000_007))).toBe('2024-11-23T00:00:00.007Z');
  });

  it('writes the right text when calls alternate between seconds (an event time and its arrival)', () => {
    // The cache keeps two seconds: alternating, a third one, and back must all stay exact.
    const samples = [
      1_732_320_000_700, 1_732_320_001_000, 1_732_320_000_701, 1_732_320_001_001, 1_732_320_002_500,
      1_732_320_000_702, 1_732_320_001_002, 1_732_320_002_501, -1, 999, 1_732_320_000_703,
    ];
    for (const millis of samples) {
      expect(millisToIso(millis), String(millis)).toBe(new Date(millis).toISOString());
      expect(dateToIso(new Date(millis)), String(millis)).toBe(new Date(millis).toISOString());
    }
  });
});

/** The copying versions, as they were before objects already in shape were returned as they are. */
function copiedStringMap(value: JsonValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  for (const key in value) {
    const member = value[key];
    if (member === null || member === undefined) continue;
    out[key] = typeof member === 'string' ? member : JSON.stringify(member);
  }
  return out;
}
function copiedNumberMap(value: JsonValue | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  for (const key in value) {
    const member = value[key];
    if (typeof member === 'number' && Number.isFinite(member)) out[key] = member;
  }
  return out;
}

describe('stringMap and numberMap', () => {
  const documents = [
    '{"campaign":"spring","pad":"xx"}',
    '{"items":3,"price":9.5}',
    '{}',
    '{"a":"x","b":null}',
    '{"a":"x","b":1,"c":true,"d":{"e":[1,"2"]}}',
    '{"2":"two","1":"one","b":"bee"}',
    '{"__proto__":"x","a":"y"}',
    '{"__proto__":1,"a":2}',
    '{"a":1,"b":1e400}',
    '{"a":1,"b":"2"}',
    '[1,2]',
    '"text"',
    '7',
    'null',
  ];
  it('read every document as the copying versions do (same members, same order, same JSON)', () => {
    for (const text of documents) {
      const value = JSON.parse(text) as JsonValue;
      for (const [fast, copied] of [
        [stringMap, copiedStringMap],
        [numberMap, copiedNumberMap],
      ] as const) {
        const got = fast(value);
        const want = copied(value);
        expect(JSON.stringify(got), text).toBe(JSON.stringify(want));
        expect(Object.keys(got), text).toEqual(Object.keys(want));
        expect(Object.getPrototypeOf(got), text).toBe(Object.prototype);
      }
    }
  });
});
