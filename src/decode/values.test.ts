import { describe, expect, it } from 'vitest';
import { dateToIso, millisToIso } from './values.js';

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
