import type { RelayConfig, S3SinkConfig } from '../../config/schema.js';
import { SOURCE_FORMATS, type SourceFormat } from '../../core/event.js';
import { UsageError } from '../../core/errors.js';
import { AIRSHIP_SHAPES, GENERIC_HEADER } from '../../decode/csv-columns.js';
import { tableName, type OutputKind } from './key-layout.js';
import { locate, type Partitions } from './athena-location.js';
import { typedColumns, type ColumnType } from './parquet/column-types.js';

/** One table over one directory tree of a sink's output: objects of one set of columns. */
export interface AthenaTable {
  readonly name: string;
  readonly kind: OutputKind;
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }>;
  /** s3://bucket/… up to the first time placeholder of the layout. */
  readonly location: string;
  readonly partitions: Partitions;
}

export interface DdlOptions {
  /** First date of the projected range (yyyy-MM-dd); later dates up to NOW are in range. */
  readonly since: string;
}

const ATHENA_TYPES: Readonly<Record<ColumnType, string>> = {
  string: 'string',
  timestamp: 'timestamp',
  double: 'double',
  bigint: 'bigint',
};

/** Our normalized JSON document (s3-sink.md, Formats), as the OpenX JSON SerDe reads it. */
const NORMALIZED_JSON_COLUMNS = [
  ['id', 'string'],
  ['type', 'string'],
  ['occurred', 'string'],
  ['format', 'string'],
  ['app_id', 'string'],
  ['device_id', 'string'],
  ['user_id', 'string'],
  ['attributes', 'map<string,string>'],
  ['metrics', 'map<string,double>'],
  [
    'kinesis',
    'struct<stream:string,shard_id:string,sequence_number:string,sub_sequence_number:bigint,partition_key:string,arrival_time:string>',
  ],
  ['original', 'string'],
] as const;

/** Airship's own RTDS documents (the `airship` layout's JSON); nested parts as JSON text. */
const AIRSHIP_JSON_COLUMNS = [
  ['id', 'string'],
  ['offset', 'string'],
  ['occurred', 'string'],
  ['processed', 'string'],
  ['type', 'string'],
  ['device', 'string'],
  ['body', 'string'],
] as const;

/** The sets of columns a sink can write, given what is decoded and what its filter lets through. */
function shapesOf(
  config: RelayConfig,
  sink: S3SinkConfig,
): Array<{ kind: OutputKind; shapeId: string | null; airshipType?: string }> {
  let formats: SourceFormat[] =
    config.decode.format === 'auto'
      ? SOURCE_FORMATS.filter((format) => format !== 'raw')
      : [config.decode.format];
  if (sink.filter.formats.length > 0) {
    formats = formats.filter((format) => sink.filter.formats.includes(format));
  }
  const types = new Set(sink.filter.eventTypes);
  const wanted = (type: string) => types.size === 0 || types.has(type);
  if (sink.format === 'jsonl') return [{ kind: 'json', shapeId: null }];
  const kind: OutputKind = sink.format;
  const shapes: Array<{ kind: OutputKind; shapeId: string | null; airshipType?: string }> = [];
  let json = false;
  for (const format of formats) {
    if (format === 'raw') json = true;
    else if (format !== 'airship') shapes.push({ kind, shapeId: 'generic' });
    else {
      for (const [type, shape] of AIRSHIP_SHAPES) {
        if (wanted(type)) shapes.push({ kind, shapeId: shape.id, airshipType: type });
      }
      // Tag changes and types without a header list go to JSON.
      json = true;
    }
  }
  if (json) shapes.push({ kind: 'json', shapeId: null });
  const seen = new Set<string>();
  return shapes.filter((shape) => {
    const key = `${shape.kind}|${shape.shapeId ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function columnsOf(
  kind: OutputKind,
  shapeId: string | null,
  sink: S3SinkConfig,
): AthenaTable['columns'] {
  if (kind === 'json') {
    const columns = sink.layout === 'airship' ? AIRSHIP_JSON_COLUMNS : NORMALIZED_JSON_COLUMNS;
    return columns.map(([name, type]) => ({ name, type }));
  }
  const shape =
    shapeId === 'generic' || shapeId === null
      ? { id: 'generic', header: GENERIC_HEADER }
      : [...AIRSHIP_SHAPES.values()].find((candidate) => candidate.id === shapeId);
  if (!shape) throw new Error(`unreachable: unknown shape ${shapeId}`);
  // OpenCSVSerde reads every column as text; Parquet columns carry their types.
  return typedColumns(shape).map((column) => ({
    name: column.name,
    type: kind === 'parquet' ? ATHENA_TYPES[column.type] : 'string',
  }));
}

/** The tables over one S3 sink's output, one per set of columns. */
export function athenaTables(
  config: RelayConfig,
  sink: S3SinkConfig,
): Array<AthenaTable | { readonly name: string; readonly problem: string }> {
  return shapesOf(config, sink).map(({ kind, shapeId, airshipType }) => {
    const table = tableName(kind, shapeId);
    const name = `${sink.name}_${table}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    try {
      const { location, partitions } = locate(sink, config, kind, table, airshipType);
      return {
        name,
        kind,
        columns: columnsOf(kind, shapeId, sink),
        location: `s3://${sink.bucket}/${location}`,
        partitions,
      };
    } catch (error) {
      if (error instanceof UsageError) return { name, problem: error.message };
      throw error;
    }
  });
}

function sqlText(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** CREATE EXTERNAL TABLE with partition projection: no crawler, no MSCK REPAIR TABLE. */
export function createTableStatement(table: AthenaTable, options: DdlOptions): string {
  const lines = [`CREATE EXTERNAL TABLE IF NOT EXISTS \`${table.name}\` (`];
  lines.push(table.columns.map((column) => `  \`${column.name}\` ${column.type}`).join(',\n'));
  lines.push(')');
  const { partitions } = table;
  if (partitions.style === 'hive') lines.push('PARTITIONED BY (`dt` string, `hour` string)');
  if (partitions.style === 'path') lines.push('PARTITIONED BY (`dt` string)');
  if (table.kind === 'parquet') lines.push('STORED AS PARQUET');
  if (table.kind === 'csv') {
    lines.push("ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'");
    lines.push("WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '\"')");
    lines.push('STORED AS TEXTFILE');
  }
  if (table.kind === 'json') {
    lines.push("ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'");
    lines.push('STORED AS TEXTFILE');
  }
  lines.push(`LOCATION ${sqlText(table.location)}`);
  const properties: Array<[string, string]> = [];
  if (table.kind === 'csv') properties.push(['skip.header.line.count', '1']);
  if (partitions.style === 'hive') {
    properties.push(
      ['projection.enabled', 'true'],
      ['projection.dt.type', 'date'],
      ['projection.dt.format', 'yyyy-MM-dd'],
      ['projection.dt.range', `${options.since},NOW`],
      ['projection.dt.interval', '1'],
      ['projection.dt.interval.unit', 'DAYS'],
      ['projection.hour.type', 'integer'],
      ['projection.hour.range', '0,23'],
      ['projection.hour.digits', '2'],
      ['storage.location.template', `${table.location}dt=\${dt}/hour=\${hour}/`],
    );
  }
  if (partitions.style === 'path') {
    properties.push(
      ['projection.enabled', 'true'],
      ['projection.dt.type', 'date'],
      ['projection.dt.format', partitions.format],
      ['projection.dt.range', `${formatSince(options.since, partitions.format)},NOW`],
      ['projection.dt.interval', '1'],
      ['projection.dt.interval.unit', partitions.unit],
      ['storage.location.template', `${table.location}\${dt}/`],
    );
  }
  if (properties.length > 0) {
    lines.push('TBLPROPERTIES (');
    lines.push(
      properties.map(([key, value]) => `  ${sqlText(key)} = ${sqlText(value)}`).join(',\n'),
    );
    lines.push(')');
  }
  return `${lines.join('\n')};\n`;
}

/** The range's first value written in the projection's own date format (yyyy-MM-dd in). */
function formatSince(since: string, format: string): string {
  const [yyyy = '2020', mm = '01', dd = '01'] = since.split('-');
  const values: Record<string, string> = { yyyy, MM: mm, dd, HH: '00', mm: '00', ss: '00' };
  // Quoted literals stay as they are; pattern letters become the date's parts.
  return format
    .split(/('[^']*')/)
    .map((piece, position) =>
      position % 2 === 1
        ? piece.slice(1, -1).replaceAll("''", "'")
        : piece.replace(/yyyy|MM|dd|HH|mm|ss/g, (letters) => values[letters] ?? letters),
    )
    .join('');
}

/** Every statement for a config's S3 sinks (or the one named), with a comment per table. */
export function athenaDdl(config: RelayConfig, sinkName: string | undefined, options: DdlOptions) {
  const sinks = config.sinks.filter(
    (sink): sink is S3SinkConfig =>
      sink.type === 's3' && (sinkName === undefined || sink.name === sinkName),
  );
  if (sinks.length === 0) {
    throw new UsageError(
      sinkName === undefined
        ? 'sinks: no S3 sink in this config'
        : `--sink: no S3 sink named ${sinkName}`,
    );
  }
  const out: string[] = [];
  const problems: string[] = [];
  for (const sink of sinks) {
    const tables: AthenaTable[] = [];
    for (const table of athenaTables(config, sink)) {
      if ('problem' in table) {
        // One set of columns the layout cannot hold in a table of its own: say so, go on.
        out.push(`-- no table ${table.name}: ${table.problem}\n`);
        problems.push(table.problem);
      } else tables.push(table);
    }
    const locations = new Map<string, number>();
    for (const table of tables)
      locations.set(table.location, (locations.get(table.location) ?? 0) + 1);
    for (const table of tables) {
      out.push(`-- sink ${sink.name}: ${table.kind} objects under ${table.location}`);
      if ((locations.get(table.location) ?? 0) > 1) {
        out.push(
          `-- warning: other tables share this location (layout: ${sink.layout}); use layout: athena or put {table} in the layout`,
        );
      }
      out.push(createTableStatement(table, options));
    }
  }
  if (problems.length > 0 && out.length === problems.length)
    throw new UsageError(problems[0] ?? '');
  return out.join('\n');
}
