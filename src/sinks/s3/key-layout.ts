import type { RelayEvent } from '../../core/event.js';
import type { UserRecord } from '../../core/record.js';

export type OutputKind = 'csv' | 'json';

export interface LayoutSettings {
  readonly layout: string;
  readonly sinkName: string;
  readonly prefix: string;
  readonly appKey?: string;
  readonly integrationId?: string;
  readonly compression: 'gzip' | 'none';
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
const HOURLY = '{yyyy}/{mm}/{dd}/{HH}/';

/**
 * Object keys. A layout decides the "directory" of an event (rendered from the event and
 * its record's arrival time); the file name inside it carries the batch's first arrival
 * time and a batch id, because two batches of one directory may close in the same second
 * and an S3 PUT to the same key would silently replace the first.
 */
export class KeyLayout {
  private readonly airship: boolean;

  constructor(private readonly settings: LayoutSettings) {
    this.airship = settings.layout === 'airship';
  }

  directory(event: RelayEvent, kind: OutputKind): string {
    const template = this.airship
      ? kind === 'csv'
        ? AIRSHIP_CSV
        : AIRSHIP_JSON
      : this.settings.layout === 'hourly'
        ? HOURLY
        : this.settings.layout;
    const time = timeParts(event.record.approximateArrivalTimestamp);
    const values: Record<string, string> = {
      ...time,
      eventType: safeSegment(event.type),
      format: event.format,
      appId: safeSegment(event.appId ?? 'unknown'),
      appKey: this.settings.appKey ?? '',
      integrationId: this.settings.integrationId ?? '',
      sink: this.settings.sinkName,
      shard: event.record.shardId,
      stream: safeSegment(event.record.streamName),
    };
    const rendered = template.replace(/\{(\w+)\}/g, (match, name: string) => values[name] ?? match);
    return `${this.settings.prefix}${rendered}`;
  }

  fileName(firstArrival: Date, batchId: string, kind: OutputKind, shapeId: string | null): string {
    const t = timeParts(firstArrival);
    const compressed = this.settings.compression === 'gzip' ? '.gz' : '';
    if (this.airship) {
      const extension = kind === 'csv' ? 'csv' : 'json';
      return `${t.yyyy}_${t.mm}_${t.dd}_${t.HH}_${t.MM}_${t.SS}_${batchId}.${extension}${compressed}`;
    }
    const extension = kind === 'csv' ? 'csv' : 'jsonl';
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
    const compressed = this.settings.compression === 'gzip' ? '.gz' : '';
    const shard = safeSegment(first.shardId);
    const position = [shard, first.sequenceNumber, String(first.subSequenceNumber), configHash];
    if (this.airship) {
      const extension = kind === 'csv' ? 'csv' : 'json';
      const time = `${t.yyyy}_${t.mm}_${t.dd}_${t.HH}_${t.MM}_${t.SS}`;
      return `${time}_${position.join('_')}.${extension}${compressed}`;
    }
    const extension = kind === 'csv' ? 'csv' : 'jsonl';
    const shape = shapeId && shapeId !== 'generic' ? `-${safeSegment(shapeId)}` : '';
    const time = `${t.yyyy}-${t.mm}-${t.dd}-${t.HH}-${t.MM}-${t.SS}`;
    return `${this.settings.sinkName}${shape}-${time}-${position.join('-')}.${extension}${compressed}`;
  }
}

/** Event types come from user data: keep them from adding path levels or odd bytes. */
function safeSegment(value: string): string {
  return value.replace(/[^A-Za-z0-9_.=-]/g, '_') || '_';
}
