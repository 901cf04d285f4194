import type { z } from 'zod';

/** At most this many issues are named: enough to fix a record, short enough for a log. */
const MAX_ISSUES = 3;
/** Path parts (object keys) longer than this are cut: a key can be any length. */
const MAX_PATH_PART = 60;

/**
 * A one-line failure reason from a zod error, e.g. `pinpoint: application.app_id:
 * Invalid input: expected string, received undefined`. The path says where, so an
 * operator can find the field in the dead-lettered bytes without re-running anything.
 */
export function describeIssues(format: string, error: z.ZodError): string {
  const parts = error.issues.slice(0, MAX_ISSUES).map((issue) => {
    const path = formatPath(issue.path);
    const message = innermostMessage(issue);
    return path === '' ? message : `${path}: ${message}`;
  });
  const more = error.issues.length - MAX_ISSUES;
  return `${format}: ${parts.join('; ')}${more > 0 ? ` (and ${more} more)` : ''}`;
}

/**
 * A record key that fails its schema is reported as "Invalid key in record" with the
 * useful message (e.g. "keys are at most 50 characters") one level down.
 */
function innermostMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' || issue.code === 'invalid_element') {
    const nested = issue.issues[0];
    if (nested !== undefined) return `key: ${nested.message}`;
  }
  return issue.message;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') {
      out += `[${part}]`;
      continue;
    }
    let name = String(part);
    if (name.length > MAX_PATH_PART) name = `${name.slice(0, MAX_PATH_PART)}…`;
    out += out === '' ? name : `.${name}`;
  }
  return out;
}
