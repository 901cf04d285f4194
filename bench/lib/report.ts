import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One row of the table: a scenario's medians. */
export interface ResultRow {
  readonly scenario: string;
  readonly recordsPerSecond: number | null;
  readonly megabytesPerSecond: number | null;
  readonly cpuSecondsPerMillion: number | null;
  readonly peakRssMib: number | null;
  readonly note: string;
}

const fmt = (value: number | null, digits = 0): string =>
  value === null
    ? '–'
    : value.toLocaleString('en-US', {
        maximumFractionDigits: digits,
        minimumFractionDigits: digits,
      });

export function markdownTable(rows: readonly ResultRow[]): string {
  const lines = [
    '| scenario | records/s | MB/s | CPU-s per million | peak RSS MiB | note |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.scenario} | ${fmt(row.recordsPerSecond)} | ${fmt(row.megabytesPerSecond, 1)} | ${fmt(row.cpuSecondsPerMillion, 1)} | ${fmt(row.peakRssMib)} | ${row.note} |`,
    );
  }
  return lines.join('\n');
}

export function writeResults(directory: string, results: object): string {
  mkdirSync(directory, { recursive: true });
  const path = join(directory, 'latest.json');
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
  return path;
}
