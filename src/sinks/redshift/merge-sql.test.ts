import { describe, expect, it } from 'vitest';
import type { RelayEvent } from '../../core/event.js';
import { csvRow, tableColumns } from './columns.js';
import { redshiftCopy } from './merge-sql.js';

const event: RelayEvent = {
  id: 'e-1',
  type: 'OPEN',
  occurred: '2026-11-22T10:11:12.345Z',
  format: 'json',
  appId: '',
  deviceId: null,
  userId: 'u, "quoted"\nline',
  attributes: { a: 'x' },
  metrics: { price: 1.5, bad: Number.NaN },
  original: { nested: { value: 3 } },
  record: {
    streamName: 's',
    shardId: 'shardId-000000000001',
    sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
    subSequenceNumber: 2,
    partitionKey: 'pk',
    aggregated: true,
    approximateArrivalTimestamp: new Date('2026-11-22T10:11:13.000Z'),
    data: new Uint8Array(),
  },
};

describe('Redshift rows and COPY', () => {
  it('writes CSV as COPY reads it: NULL unquoted, empty string quoted, quotes doubled', () => {
    const columns = tableColumns({
      occurred_at: 'occurred',
      app_id: 'appId',
      device_id: 'deviceId',
      user_id: 'userId',
      price: 'metrics.price',
      bad: 'metrics.bad',
      value: 'original.nested.value',
      missing: 'original.nested.nothing',
      arrival: 'arrivalTime',
    });
    expect(csvRow(columns, event).toString()).toBe(
      'shardId-000000000001,49590338271490256608559692538361571095921575989136588898,2,e-1,' +
        '2026-11-22 10:11:12.345,"",,"u, ""quoted""\nline",1.5,,3,,2026-11-22 10:11:13.000\n',
    );
  });

  it("passes the worker's own temporary credentials to COPY when no role is configured", () => {
    const sql = redshiftCopy(
      'stage',
      tableColumns({ t: 'type' }),
      "s3://b/p/it's/manifest",
      { accessKeyId: 'AKIA', secretAccessKey: "se'cret", sessionToken: 'tok' },
      'eu-west-1',
    );
    expect(sql).toBe(
      "COPY stage (shard_id, sequence_number, sub_sequence_number, event_id, t) FROM 's3://b/p/it''s/manifest' " +
        "ACCESS_KEY_ID 'AKIA' SECRET_ACCESS_KEY 'se''cret' SESSION_TOKEN 'tok' MANIFEST GZIP CSV " +
        "EMPTYASNULL TIMEFORMAT 'auto' REGION 'eu-west-1'",
    );
  });

  it('a backslash in a COPY literal cannot end the string early: backslashes and quotes are both escaped', () => {
    // Redshift reads \ as an escape inside '...': 'x\' would escape the closing quote.
    const sql = redshiftCopy(
      'stage',
      tableColumns({ t: 'type' }),
      's3://b/p\\/manifest',
      { accessKeyId: 'AKIA', secretAccessKey: "se\\'; DROP TABLE t; --" },
      'eu-west-1\\',
    );
    expect(sql).toContain("FROM 's3://b/p\\\\/manifest' ");
    expect(sql).toContain("SECRET_ACCESS_KEY 'se\\\\''; DROP TABLE t; --' ");
    expect(sql).toMatch(/ REGION 'eu-west-1\\\\'$/);
  });
});
