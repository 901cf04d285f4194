import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AIRSHIP_CSV_HEADERS } from './airship-csv-headers.js';

/** Event type → header list, as the reference's appendix prints them (typos included). */
function referenceLists(): Map<string, string[]> {
  const text = readFileSync(
    new URL('./fixtures/airship-csv-headers.reference.txt', import.meta.url),
    'utf8',
  );
  const lines = text.split('\n').map((line) => line.trim());
  const lists = new Map<string, string[]>();
  for (let i = 0; i + 1 < lines.length; i++) {
    const type = /^- ([A-Z_]+)$/.exec(lines[i] ?? '')?.[1];
    const next = lines[i + 1] ?? '';
    if (type !== undefined && next.startsWith('- ID,')) {
      lists.set(type, next.slice(2).split(', '));
    }
  }
  return lists;
}

describe('Airship CSV header lists', () => {
  const reference = referenceLists();

  it('covers exactly the event types of the reference appendix', () => {
    expect(reference.size).toBe(29);
    expect(Object.keys(AIRSHIP_CSV_HEADERS).sort()).toEqual([...reference.keys()].sort());
  });

  it('matches every reference list in order, with "APP_VERSION DEVICE_MODEL" as two columns', () => {
    for (const [type, columns] of reference) {
      const expected = columns.flatMap((column) =>
        column === 'APP_VERSION DEVICE_MODEL' ? ['APP_VERSION', 'DEVICE_MODEL'] : [column],
      );
      expect(AIRSHIP_CSV_HEADERS[type], type).toEqual(expected);
    }
  });

  it('has the missing-comma typo in the reference where we split it', () => {
    const typoed = [...reference].filter(([, columns]) =>
      columns.includes('APP_VERSION DEVICE_MODEL'),
    );
    expect(typoed.map(([type]) => type)).toContain('IN_APP_BUTTON_TAP');
    for (const [type] of typoed) {
      const header = AIRSHIP_CSV_HEADERS[type] ?? [];
      expect(header.indexOf('DEVICE_MODEL')).toBe(header.indexOf('APP_VERSION') + 1);
    }
  });

  it('has no column twice within one list', () => {
    for (const [type, header] of Object.entries(AIRSHIP_CSV_HEADERS)) {
      expect(new Set(header).size, type).toBe(header.length);
    }
  });
});
