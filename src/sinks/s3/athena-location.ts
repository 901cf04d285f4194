import { configuredStreams, type RelayConfig, type S3SinkConfig } from '../../config/schema.js';
import { UsageError } from '../../core/errors.js';
import { plainStreamName } from '../../core/stream-name.js';
import { compile, safeSegment, templateFor, type OutputKind } from './key-layout.js';

/** How a table's objects are laid out below its location. */
export type Partitions =
  | { readonly style: 'none' }
  /** The `athena` layout: dt=yyyy-MM-dd/hour=HH, two Hive partition columns. */
  | { readonly style: 'hive' }
  /** Any other time path (`2026/01/02/03`, `2026_01_02`): one projected column `dt`. */
  | { readonly style: 'path'; readonly format: string; readonly unit: string };

const TIME_PATTERNS: Readonly<Record<string, string>> = {
  yyyy: 'yyyy',
  mm: 'MM',
  dd: 'dd',
  HH: 'HH',
  MM: 'mm',
  SS: 'ss',
};
const TIME_UNITS: Readonly<Record<string, string>> = {
  yyyy: 'YEARS',
  mm: 'MONTHS',
  dd: 'DAYS',
  HH: 'HOURS',
  MM: 'MINUTES',
  SS: 'SECONDS',
};
const FINEST = ['SS', 'MM', 'HH', 'dd', 'mm', 'yyyy'];
/** The time path of the `athena` layout: two Hive partition columns. */
const HIVE_PATH = 'dt={yyyy}-{mm}-{dd}/hour={HH}/';

/**
 * Splits a layout into the static location of a table and the time path below it. Every
 * placeholder before the first time placeholder must be fixed for the table; after it,
 * only time placeholders may follow (partition projection computes those paths).
 */
export function locate(
  sink: S3SinkConfig,
  config: RelayConfig,
  kind: OutputKind,
  table: string,
  airshipType: string | undefined,
): { location: string; partitions: Partitions } {
  const parts = compile(templateFor(sink.layout, kind));
  const streams = configuredStreams(config);
  const oneStream = streams.length === 1 ? streams[0] : undefined;
  const fixed: Record<string, string | undefined> = {
    appKey: sink.appKey,
    integrationId: sink.integrationId,
    sink: sink.name,
    table,
    eventType: airshipType === undefined ? undefined : safeSegment(airshipType),
    // Fixed per table only with one stream; with several, {stream} varies.
    stream: oneStream ? safeSegment(plainStreamName(oneStream.name)) : undefined,
  };
  let location = sink.prefix;
  let index = 0;
  for (; index < parts.length; index += 1) {
    const part = parts[index] ?? '';
    if (index % 2 === 0) {
      location += part;
      continue;
    }
    if (TIME_PATTERNS[part] !== undefined) break;
    const value = fixed[part];
    if (value === undefined) {
      throw new UsageError(
        `sinks.${sink.name}.layout: {${part}} varies within a table; athena ddl needs a layout whose directories before the time parts are fixed per table (e.g. layout: athena)`,
      );
    }
    location += value;
  }
  if (index >= parts.length) return { location, partitions: { style: 'none' } };
  // The location ends at the last '/' before the time path; the rest is the partition path.
  const cut = location.lastIndexOf('/') + 1;
  const head = location.slice(cut);
  location = location.slice(0, cut);
  // From the first time placeholder on: placeholder, literal, placeholder, literal ...
  const rest = parts.slice(index);
  const names = rest.filter((_, position) => position % 2 === 0);
  for (const name of names) {
    if (TIME_PATTERNS[name] === undefined) {
      throw new UsageError(
        `sinks.${sink.name}.layout: {${name}} after the time placeholders cannot be projected by Athena; put it before them`,
      );
    }
  }
  const path =
    head + rest.map((part, position) => (position % 2 === 0 ? `{${part}}` : part)).join('');
  if (path === HIVE_PATH) return { location, partitions: { style: 'hive' } };
  const pattern =
    quoteLiteral(head) +
    rest
      .map((part, position) =>
        position % 2 === 0 ? (TIME_PATTERNS[part] ?? '') : quoteLiteral(part),
      )
      .join('');
  const format = pattern.replace(/\/$/, '');
  const unit = TIME_UNITS[FINEST.find((name) => names.includes(name)) ?? 'dd'] ?? 'DAYS';
  return { location, partitions: { style: 'path', format, unit } };
}

/** Literal text inside a Java date pattern: letters need quotes, '/', '-', '_' do not. */
function quoteLiteral(text: string): string {
  return /[A-Za-z']/.test(text) ? `'${text.replaceAll("'", "''")}'` : text;
}
