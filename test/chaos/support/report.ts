import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One row of the chaos table (docs/reliability.md). */
export interface ScenarioRow {
  readonly scenario: string;
  readonly put: number;
  readonly delivered: number;
  readonly duplicates: number;
  readonly lost: number;
  /** From the end of the fault until the pass condition held (all delivered, all owned ...). */
  readonly recoveryMs: number | null;
  /** Calls the proxies failed (each one retried by the SDK or the relay), per service. */
  readonly dynamoRetried: number;
  readonly kinesisRetried: number;
  readonly s3Retried?: number;
  readonly pass: boolean;
  /** The scenario's own figures and why it failed, if it did. */
  readonly notes: string;
}

export const RESULTS_DIR = join(import.meta.dirname, '..', 'results');

const HEADER =
  '| scenario | put | delivered | duplicates | lost | recovery | DynamoDB retried | Kinesis retried | S3 retried | result | notes |';
const RULE = '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|';

export function formatRow(row: ScenarioRow): string {
  const recovery = row.recoveryMs === null ? '—' : `${(row.recoveryMs / 1000).toFixed(1)} s`;
  return `| ${row.scenario} | ${row.put} | ${row.delivered} | ${row.duplicates} | ${row.lost} | ${recovery} | ${row.dynamoRetried} | ${row.kinesisRetried} | ${row.s3Retried ?? 0} | ${row.pass ? 'pass' : '**FAIL**'} | ${row.notes.replaceAll('|', '/')} |`;
}

/**
 * Prints the row (as a one-row table); under `npm run chaos` (CHAOS_RECORD=1) also keeps it
 * in test/chaos/results/<id>.json, where docs/reliability.md's table comes from.
 */
export function reportScenario(id: string, row: ScenarioRow): void {
  console.log(`\n${HEADER}\n${RULE}\n${formatRow(row)}\n`);
  if (process.env.CHAOS_RECORD !== '1') return;
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(
    join(RESULTS_DIR, `${id}.json`),
    `${JSON.stringify({ ...row, measuredAt: new Date().toISOString() }, null, 2)}\n`,
  );
}

/** The whole table from the kept results, in file-name order. */
export function resultsTable(): string {
  let files: string[] = [];
  try {
    files = readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return '';
  }
  const rows = files
    .sort()
    .map((f) => JSON.parse(readFileSync(join(RESULTS_DIR, f), 'utf8')) as ScenarioRow);
  return [HEADER, RULE, ...rows.map(formatRow)].join('\n');
}
