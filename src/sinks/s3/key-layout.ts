import type { CsvShapeResolver } from '../../core/csv-shape.js';
import type { RelayEvent } from '../../core/event.js';
import type { UserRecord } from '../../core/record.js';
import { csvShapeFor } from '../../decode/csv-columns.js';
import { eventTimeOrArrival } from './event-time.js';

export type OutputKind = 'csv' | 'json' | 'parquet';

export interface LayoutSettings {
  readonly layout: string;
  readonly sinkName: string;
  readonly prefix: string;
  readonly appKey?: string;
  readonly integrationId?: string;
  /** Of text objects (CSV, JSON Lines); Parquet objects compress inside and end in `.parquet`. */
  readonly compression: 'gzip' | 'zstd' | 'none';
  /** Whose time renders {yyyy} … {SS} in directories: the record's arrival (default) or the event's. */
  readonly partitionBy?: 'arrival' | 'event';
  /** The columns an event is written with ({table}); the decoders' resolver by default. */
  readonly resolveShape?: CsvShapeResolver;
}

/** The Hive-style layout Athena, Glue and Spark read partitions from (one table per {table}). */
export const ATHENA_LAYOUT = '{table}/dt={yyyy}-{mm}-{dd}/hour={HH}/';

/**
 * The {table} placeholder: one directory per set of columns, so each Athena table's
 * location holds only objects of its own columns. `events` for the generic flattened
 * columns, `airship_<type>` for an Airship event type's, `events_json` for JSON Lines.
 */
export function tableName(kind: OutputKind, shapeId: string | null): string {
  if (kind === 'json' || shapeId === null) return 'events_json';
  if (shapeId === 'generic') return 'events';
  return shapeId
    .replace(/^airship:/, 'airship_')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
}

function extensionOf(kind: OutputKind, airship: boolean): string {
  if (kind === 'parquet') return 'parquet';
  if (kind === 'csv') return 'csv';
  return airship ? 'json' : 'jsonl';
}

function compressedSuffix(kind: OutputKind, compression: LayoutSettings['compression']): string {
  if (kind === 'parquet' || compression === 'none') return '';
  return compression === 'gzip' ? '.gz' : '.zst';
}

/** UTC date parts, zero padded, for templates and file names. */
export function timeParts(date: Date): Record<'yyyy' | 'mm' | 'dd' | 'HH' | 'MM' | 'SS', string> {
  const iso = date.toISOString(); // 2024-01-02T03:04:05.678Z
  return {
    yyyy: iso.slice(0, 4),
    mm: iso.slice(5, 7),
    dd: iso.slice(8, 10),
    HH: iso.slice(11, 13),
    MM: iso.slice(14, 16),
    SS: iso.slice(17, 19),
  };
}

const AIRSHIP_CSV = '{appKey}/{integrationId}/S3_CSV/{eventType}/{yyyy}_{mm}_{dd}/';
const AIRSHIP_JSON = '{appKey}/{integrationId}/S3_JSON/{yyyy}_{mm}_{dd}/';
/** Not Airship's (it has no Parquet export): its CSV layout with S3_PARQUET for S3_CSV. */
const AIRSHIP_PARQUET = '{appKey}/{integrationId}/S3_PARQUET/{eventType}/{yyyy}_{mm}_{dd}/';
const HOURLY = '{yyyy}/{mm}/{dd}/{HH}/';

/**
 * Object keys. A layout decides the "directory" of an event (rendered from the event and
 * its record's arrival time); the file name inside it carries the batch's first arrival
 * time and a batch id, because two batches of one directory may close in the same second
 * and an S3 PUT to the same key would silently replace the first.
 */
export class KeyLayout {
  private readonly airship: boolean;
  // Compiled once: directory() runs for every event, so it renders only the placeholders
  // its template uses, and the date parts of the last arrival second are reused.
  private readonly csvTemplate: readonly string[];
  private readonly jsonTemplate: readonly string[];
  private readonly parquetTemplate: readonly string[];
  private readonly byEventTime: boolean;
  private readonly resolveShape: CsvShapeResolver;
  private lastSecond = Number.NaN;
  private lastTime = timeParts(new Date(0));
  /**
   * Per kind, whether its directory depends on nothing but the arrival second (`hourly`,
   * `athena` and most templates); such a directory is rendered once per second, not per
   * event, and the same string comes back while the second lasts.
   */
  private readonly bySecond: Readonly<Record<OutputKind, boolean>>;
  private readonly renderedFor: Record<OutputKind, ReturnType<typeof timeParts> | null> = {
    csv: null,
    json: null,
    parquet: null,
  };
  private readonly rendered: Record<OutputKind, string> = { csv: '', json: '', parquet: '' };

  constructor(private readonly settings: LayoutSettings) {
    this.airship = settings.layout === 'airship';
    this.csvTemplate = compile(templateFor(settings.layout, 'csv'));
    this.jsonTemplate = compile(templateFor(settings.layout, 'json'));
    this.parquetTemplate = compile(templateFor(settings.layout, 'parquet'));
    this.byEventTime = settings.partitionBy === 'event';
    this.resolveShape = settings.resolveShape ?? csvShapeFor;
    const arrivalOnly = (parts: readonly string[]) =>
      !this.byEventTime && parts.every((part, index) => index % 2 === 0 || ARRIVAL_ONLY.has(part));
    this.bySecond = {
      csv: arrivalOnly(this.csvTemplate),
      json: arrivalOnly(this.jsonTemplate),
      parquet: arrivalOnly(this.parquetTemplate),
    };
  }

  directory(event: RelayEvent, kind: OutputKind): string {
    if (!this.bySecond[kind]) return this.render(event, kind);
    const time = this.time(event.record.approximateArrivalTimestamp);
    if (this.renderedFor[kind] !== time) {
      this.rendered[kind] = this.render(event, kind);
      this.renderedFor[kind] = time;
    }
    return this.rendered[kind];
  }

  private render(event: RelayEvent, kind: OutputKind): string {
    const parts =
      kind === 'csv'
        ? this.csvTemplate
        : kind === 'parquet'
          ? this.parquetTemplate
          : this.jsonTemplate;
    let rendered = this.settings.prefix;
    // Even indexes are literal text, odd ones placeholder names (String#split with a group).
    for (let index = 0; index < parts.length; index += 1) {
      const part = parts[index] ?? '';
      rendered += index % 2 === 0 ? part : this.placeholder(part, event, kind);
    }
    return rendered;
  }

  private placeholder(name: string, event: RelayEvent, kind: OutputKind): string {
    switch (name) {
      case 'yyyy':
      case 'mm':
      case 'dd':
      case 'HH':
      case 'MM':
      case 'SS':
        // By event time, a late event renders its own (old) partition; the object it goes
        // into is a new one (batches are per directory), never one already written.
        return this.time(
          this.byEventTime ? eventTimeOrArrival(event) : event.record.approximateArrivalTimestamp,
        )[name];
      case 'table':
        return tableName(kind, kind === 'json' ? null : (this.resolveShape(event)?.id ?? null));
      case 'eventType':
        return safeSegment(event.type);
      case 'format':
        return event.format;
      case 'appId':
        return safeSegment(event.appId ?? 'unknown');
      case 'appKey':
        return this.settings.appKey ?? '';
      case 'integrationId':
        return this.settings.integrationId ?? '';
      case 'sink':
        return this.settings.sinkName;
      case 'shard':
        return event.record.shardId;
      case 'stream':
        return safeSegment(event.record.streamName);
      default:
        return `{${name}}`;
    }
  }

  private time(arrival: Date): ReturnType<typeof timeParts> {
    const second = Math.floor(arrival.getTime() / 1000);
    if (second !== this.lastSecond) {
      this.lastSecond = second;
      this.lastTime = timeParts(arrival);
    }
    return this.lastTime;
  }

  fileName(firstArrival: Date, batchId: string, kind: OutputKind, shapeId: string | null): string {
    const t = timeParts(firstArrival);
    const compressed = compressedSuffix(kind, this.settings.compression);
    const extension = extensionOf(kind, this.airship);
    if (this.airship) {
      return `${t.yyyy}_${t.mm}_${t.dd}_${t.HH}_${t.MM}_${t.SS}_${batchId}.${extension}${compressed}`;
    }
    const shape = shapeId && shapeId !== 'generic' ? `-${safeSegment(shapeId)}` : '';
    return `${this.settings.sinkName}${shape}-${t.yyyy}-${t.mm}-${t.dd}-${t.HH}-${t.MM}-${t.SS}-${batchId}.${extension}${compressed}`;
  }

  /**
   * The file name of an exactly-once object: the time and position of its first record and
   * the config hash, so the name is a function of the records and the settings alone.
   * `airship`: `{yyyy}_{mm}_{dd}_{HH}_{MM}_{SS}_{shardId}_{sequence}_{subSequence}_{hash}.csv`;
   * others: `{sink}[-{shape}]-{yyyy}-…-{SS}-{shardId}-{sequence}-{subSequence}-{hash}.jsonl`.
   */
  segmentFileName(
    first: UserRecord,
    configHash: string,
    kind: OutputKind,
    shapeId: string | null,
  ): string {
    const t = timeParts(first.approximateArrivalTimestamp);
    const compressed = compressedSuffix(kind, this.settings.compression);
    const extension = extensionOf(kind, this.airship);
    const shard = safeSegment(first.shardId);
    const position = [shard, first.sequenceNumber, String(first.subSequenceNumber), configHash];
    if (this.airship) {
      const time = `${t.yyyy}_${t.mm}_${t.dd}_${t.HH}_${t.MM}_${t.SS}`;
      return `${time}_${position.join('_')}.${extension}${compressed}`;
    }
    const shape = shapeId && shapeId !== 'generic' ? `-${safeSegment(shapeId)}` : '';
    const time = `${t.yyyy}-${t.mm}-${t.dd}-${t.HH}-${t.MM}-${t.SS}`;
    return `${this.settings.sinkName}${shape}-${time}-${position.join('-')}.${extension}${compressed}`;
  }
}

/** Placeholders that render the same for every event arriving in the same second. */
const ARRIVAL_ONLY: ReadonlySet<string> = new Set([
  'yyyy',
  'mm',
  'dd',
  'HH',
  'MM',
  'SS',
  'appKey',
  'integrationId',
  'sink',
]);

/** The directory template of a layout (a name or a template itself) for one kind of object. */
export function templateFor(layout: string, kind: OutputKind): string {
  if (layout === 'airship') {
    return kind === 'csv' ? AIRSHIP_CSV : kind === 'parquet' ? AIRSHIP_PARQUET : AIRSHIP_JSON;
  }
  if (layout === 'hourly') return HOURLY;
  if (layout === 'athena') return ATHENA_LAYOUT;
  return layout;
}

/** A template as alternating literal text and placeholder names. */
export function compile(template: string): string[] {
  return template.split(/\{(\w+)\}/);
}

/** Event types come from user data: keep them from adding path levels or odd bytes. */
export function safeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9_.=-]/g, '_') || '_';
}
