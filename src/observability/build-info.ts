import { readFileSync } from 'node:fs';

/**
 * The relay's version from its package.json (one level above src/ and dist/ alike), for
 * the build-info gauge. A missing or odd file gives 'unknown' rather than a crash.
 */
export function relayVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const parsed = JSON.parse(text) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
