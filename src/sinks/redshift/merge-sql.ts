import type { Column, ColumnKind } from './columns.js';
import { KEY_COLUMN_NAMES } from './columns.js';

export type Dialect = 'redshift' | 'postgres';

export interface TableNames {
  readonly target: string;
  readonly staging: string;
}

/**
 * The widest value, in UTF-8 bytes, each string column takes in each dialect (Redshift
 * counts VARCHAR lengths in bytes; 65535 is its maximum). A value over it is never cut
 * short: the sink dead-letters its event, naming the column. PostgreSQL's TEXT has none.
 */
export const COLUMN_BYTE_LIMITS: Record<Dialect, Partial<Record<ColumnKind, number>>> = {
  redshift: { key: 512, text: 1024, 'long-text': 65_535 },
  postgres: {},
};

const SQL_TYPES: Record<Dialect, Record<ColumnKind, string>> = {
  redshift: {
    // Shard ids and 56-digit sequence numbers fit; a longer source event id is dead-lettered.
    key: `VARCHAR(${COLUMN_BYTE_LIMITS.redshift.key})`,
    text: `VARCHAR(${COLUMN_BYTE_LIMITS.redshift.text})`,
    'long-text': `VARCHAR(${COLUMN_BYTE_LIMITS.redshift['long-text']})`,
    timestamp: 'TIMESTAMP',
    number: 'DOUBLE PRECISION',
    integer: 'BIGINT',
  },
  postgres: {
    key: 'TEXT',
    text: 'TEXT',
    'long-text': 'TEXT',
    timestamp: 'TIMESTAMP',
    number: 'DOUBLE PRECISION',
    integer: 'BIGINT',
  },
};

/**
 * `createTable: true`. Redshift takes the primary key as information only (the merge
 * deduplicates by itself); PostgreSQL enforces it, which turns two workers loading the
 * same rows at once into a retriable error instead of a duplicate.
 */
export function createTableStatements(
  dialect: Dialect,
  tables: TableNames,
  columns: readonly Column[],
  keys: readonly string[] = KEY_COLUMN_NAMES,
): string[] {
  const definitions = columns.map((column) => `${column.name} ${SQL_TYPES[dialect][column.kind]}`);
  const key = `PRIMARY KEY (${keys.join(', ')})`;
  return [
    `CREATE TABLE IF NOT EXISTS ${tables.target} (${[...definitions, key].join(', ')})`,
    // PostgreSQL: staging is empty between transactions, so it need not be crash-safe (WAL).
    `CREATE ${dialect === 'postgres' ? 'UNLOGGED ' : ''}TABLE IF NOT EXISTS ${tables.staging} (${definitions.join(', ')})`,
  ];
}

/**
 * The statements around the COPY, all in one transaction: empty the staging table (of
 * rows this transaction can see), load it, drop the rows the target already has and the
 * repeats inside the batch, insert the rest, empty staging again. A replayed batch thus
 * inserts nothing. Redshift's documented merge pattern; PostgreSQL runs it unchanged.
 * TRUNCATE is avoided on purpose: in Redshift it commits the open transaction.
 */
export function mergeTransaction(
  tables: TableNames,
  columns: readonly Column[],
  copy: string,
  keyNames: readonly string[] = KEY_COLUMN_NAMES,
): string[] {
  const { target, staging } = tables;
  const names = columns.map((column) => column.name).join(', ');
  const matches = keyNames.map((k) => `${staging}.${k} = ${target}.${k}`).join(' AND ');
  const keys = keyNames.join(', ');
  return [
    'BEGIN',
    `DELETE FROM ${staging}`,
    copy,
    `DELETE FROM ${staging} USING ${target} WHERE ${matches}`,
    `INSERT INTO ${target} (${names}) SELECT ${names} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY ${keys} ORDER BY ${keys}) AS relay_row FROM ${staging}) AS loaded WHERE relay_row = 1`,
    `DELETE FROM ${staging}`,
    'COMMIT',
  ];
}

export function postgresCopy(staging: string, columns: readonly Column[]): string {
  const names = columns.map((column) => column.name).join(', ');
  return `COPY ${staging} (${names}) FROM STDIN WITH (FORMAT csv)`;
}

/** How COPY may read the staging bucket: a role the cluster assumes, or the worker's keys. */
export type CopyCredentials =
  | { readonly iamRole: string }
  | {
      readonly accessKeyId: string;
      readonly secretAccessKey: string;
      readonly sessionToken?: string;
    };

export function redshiftCopy(
  staging: string,
  columns: readonly Column[],
  manifestUrl: string,
  credentials: CopyCredentials,
  region: string | undefined,
): string {
  const names = columns.map((column) => column.name).join(', ');
  const auth =
    'iamRole' in credentials
      ? `IAM_ROLE ${literal(credentials.iamRole)}`
      : [
          `ACCESS_KEY_ID ${literal(credentials.accessKeyId)}`,
          `SECRET_ACCESS_KEY ${literal(credentials.secretAccessKey)}`,
          ...(credentials.sessionToken
            ? [`SESSION_TOKEN ${literal(credentials.sessionToken)}`]
            : []),
        ].join(' ');
  const regionClause = region ? ` REGION ${literal(region)}` : '';
  return (
    // No TRUNCATECOLUMNS: a cut key would merge distinct rows and a cut `original` is broken
    // JSON. Rows over a column's width are dead-lettered before they reach COPY.
    `COPY ${staging} (${names}) FROM ${literal(manifestUrl)} ${auth} MANIFEST GZIP CSV` +
    ` EMPTYASNULL TIMEFORMAT 'auto'${regionClause}`
  );
}

/**
 * A Redshift string literal. Redshift reads a backslash inside quotes as an escape, so a
 * value ending in `\` would swallow the closing quote: backslashes are doubled as well.
 * (Only the redshift dialect builds literals; PostgreSQL's standard strings would not.)
 */
function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
