import { describe, expect, it } from 'vitest';
import { configProblems as problemsOf } from '../../test/support/config-problems.js';
import { parseConfig } from './load.js';
import { configuredStreams } from './schema.js';

const sinks = `
sinks:
  - { name: archive, type: s3, bucket: my-bucket }
`;

describe('several streams in one application (streams:)', () => {
  it('reads a list of streams, each with its own position and optional role', () => {
    const config = parseConfig(
      `
application: my-app
streams:
  - { name: orders }
  - name: arn:aws:kinesis:eu-west-1:111122223333:stream/clicks
    initialPosition: AT_TIMESTAMP
    initialTimestamp: 2026-01-01T00:00:00Z
    roleArn: arn:aws:iam::111122223333:role/relay-reader
${sinks}`,
      'test.yaml',
      {},
    );
    expect(config.stream).toBeUndefined();
    expect(configuredStreams(config)).toEqual([
      { name: 'orders', initialPosition: 'TRIM_HORIZON', initialTimestamp: null },
      {
        name: 'arn:aws:kinesis:eu-west-1:111122223333:stream/clicks',
        initialPosition: 'AT_TIMESTAMP',
        initialTimestamp: '2026-01-01T00:00:00Z',
        roleArn: 'arn:aws:iam::111122223333:role/relay-reader',
      },
    ]);
  });

  it('the one-stream form stays as it was', () => {
    const config = parseConfig(`application: my-app\nstream: { name: events }\n${sinks}`, 't', {});
    expect(configuredStreams(config)).toEqual([
      { name: 'events', initialPosition: 'TRIM_HORIZON', initialTimestamp: null },
    ]);
  });

  it('needs exactly one of stream and streams, naming the key', () => {
    expect(problemsOf(`application: my-app\n${sinks}`)).toEqual([
      'stream: is required (a stream name or ARN), or streams: a list of them',
    ]);
    expect(
      problemsOf(`application: my-app\nstream: { name: a }\nstreams: [{ name: b }]\n${sinks}`),
    ).toEqual([
      'streams: cannot be given with stream: use stream for one stream, streams for several',
    ]);
    expect(problemsOf(`application: my-app\nstreams: []\n${sinks}`)).toEqual([
      'streams: needs at least one stream',
    ]);
  });

  it('checks each stream: AT_TIMESTAMP needs a time, a stream once, a role is a role ARN', () => {
    const problems = problemsOf(`
application: my-app
streams:
  - { name: orders, initialPosition: AT_TIMESTAMP }
  - { name: "orders" }
  - { name: clicks, roleArn: reader }
  - { name: views, region: eu-west-1 }
${sinks}`);
    expect(problems).toContain(
      'streams.0.initialTimestamp: is required with initialPosition: AT_TIMESTAMP',
    );
    expect(problems).toContain("streams.1.name: 'orders' is listed twice; each stream once");
    expect(problems).toContain('streams.2.roleArn: must be an IAM role ARN');
    expect(problems).toContain('streams.3.region: unknown key');
    // The one-stream form takes no role: the process's own credentials read it.
    expect(
      problemsOf(
        `application: my-app\nstream: { name: a, roleArn: "arn:aws:iam::111122223333:role/r" }\n${sinks}`,
      ),
    ).toEqual(['stream.roleArn: unknown key']);
  });

  it('two accounts may each have a stream of the same name', () => {
    const config = parseConfig(
      `
application: my-app
streams:
  - { name: "arn:aws:kinesis:us-east-1:111122223333:stream/events" }
  - { name: "arn:aws:kinesis:us-east-1:444455556666:stream/events" }
${sinks}`,
      't',
      {},
    );
    expect(configuredStreams(config)).toHaveLength(2);
  });

  it('a sink filter selects configured streams only, named as configured', () => {
    const clicks = 'arn:aws:kinesis:us-east-1:111122223333:stream/clicks';
    const ok = parseConfig(
      `
application: my-app
streams: [{ name: orders }, { name: "${clicks}" }]
sinks:
  - { name: archive, type: s3, bucket: my-bucket, filter: { streams: [orders, "${clicks}"] } }
`,
      't',
      {},
    );
    expect(ok.sinks[0]?.filter.streams).toEqual(['orders', clicks]);
    expect(
      problemsOf(`
application: my-app
streams: [{ name: orders }, { name: "${clicks}" }]
sinks:
  - { name: archive, type: s3, bucket: my-bucket, filter: { streams: [order, clicks] } }
`),
    ).toEqual([
      "sinks.0.filter.streams.0: 'order' is not a configured stream (name it as stream(s).name does)",
      "sinks.0.filter.streams.1: 'clicks' is not a configured stream (name it as stream(s).name does)",
    ]);
  });

  it('refuses an exactly-once S3 sink over several streams', () => {
    expect(
      problemsOf(`
application: my-app
streams: [{ name: orders }, { name: clicks }]
sinks:
  - { name: archive, type: s3, bucket: my-bucket, exactlyOnce: true }
`),
    ).toEqual([
      'sinks.0.exactlyOnce: is not supported with several streams (one exactly-once sink per stream)',
    ]);
  });

  it('a Redshift sink fed by several streams refuses a column named stream mapped to another source', () => {
    const redshift = (columns: string, filter = '') => `
application: my-app
streams: [{ name: orders }, { name: clicks }]
sinks:
  - { name: wh, type: redshift, dialect: postgres, url: 'postgres://h/db', table: t, columns: ${columns}${filter} }
`;
    expect(problemsOf(redshift('{ stream: type, t: type }'))).toEqual([
      "sinks.0.columns.stream: is the key column a sink fed by several streams keys its rows by (the stream's name); map it to stream or rename it",
    ]);
    expect(problemsOf(redshift('{ Stream: partitionKey }'))).toEqual([
      "sinks.0.columns.Stream: is the key column a sink fed by several streams keys its rows by (the stream's name); map it to stream or rename it",
    ]);
    // Mapped to the stream, it is the key's own column; narrowed to one stream, no key column.
    expect(problemsOf(redshift('{ stream: stream, t: type }'))).toEqual([]);
    expect(problemsOf(redshift('{ stream: type }', ', filter: { streams: [orders] }'))).toEqual([]);
  });
});
