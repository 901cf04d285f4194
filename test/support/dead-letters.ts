import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeadLetterEntry } from '../../src/sinks/sink.js';

/** A fresh local dead-letter destination, as the `deadLetter` config section. */
export function directoryDeadLetter(): { type: 'directory'; path: string } {
  return { type: 'directory', path: mkdtempSync(join(tmpdir(), 'kinesis-relay-dlq-')) };
}

/** Every dead-letter entry under a directory destination (none when it does not exist). */
export function readDeadLetters(root: string): DeadLetterEntry[] {
  let files: string[];
  try {
    files = readdirSync(root, { recursive: true }).map(String);
  } catch {
    return [];
  }
  return files
    .filter((name) => name.endsWith('.jsonl'))
    .flatMap((name) => readFileSync(join(root, name), 'utf8').split('\n'))
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as DeadLetterEntry);
}
