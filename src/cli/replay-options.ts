import { SOURCE_FORMATS, type SourceFormat } from '../core/event.js';
import { UsageError } from '../core/errors.js';
import type { ReplayFilter } from '../replay/replay-entry.js';
import type { DeadLetterReason } from '../sinks/sink.js';
import { parseIsoTimeFlag } from './time-flag.js';

const REASONS: readonly DeadLetterReason[] = ['decode_failed', 'sink_gave_up', 'sink_rejected'];

export interface ReplayFlags {
  readonly format?: string;
  readonly reason?: string[];
  readonly shard?: string[];
  readonly since?: string;
  readonly until?: string;
}

/** The replay command's flags, checked: a bad one is a usage error (exit 2) naming it. */
export function parseReplayFlags(flags: ReplayFlags): {
  format?: SourceFormat | 'auto';
  filter: ReplayFilter;
} {
  const formats: readonly string[] = ['auto', ...SOURCE_FORMATS];
  if (flags.format !== undefined && !formats.includes(flags.format)) {
    throw new UsageError(`--format: '${flags.format}' is not one of ${formats.join(', ')}`);
  }
  for (const reason of flags.reason ?? []) {
    if (!(REASONS as readonly string[]).includes(reason)) {
      throw new UsageError(`--reason: '${reason}' is not one of ${REASONS.join(', ')}`);
    }
  }
  const since = parseTime('--since', flags.since);
  const until = parseTime('--until', flags.until);
  if (since && until && since > until) {
    throw new UsageError(
      `--since ${since.toISOString()} is after --until ${until.toISOString()}: no record can match`,
    );
  }
  return {
    format: flags.format as SourceFormat | 'auto' | undefined,
    filter: {
      reasons: flags.reason as DeadLetterReason[] | undefined,
      shardIds: flags.shard,
      since,
      until,
    },
  };
}

function parseTime(flag: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const time = parseIsoTimeFlag(flag, text, { dateOnly: true });
  if (!time) throw new UsageError(`${flag}: '${text}' is not an ISO-8601 time`);
  return time;
}
