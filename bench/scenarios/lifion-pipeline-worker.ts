/*
 * The fair peer: the job the relay does, written the way a user would around
 * lifion-kinesis with the usual libraries: each record's JSON (lifion parses it) becomes
 * a CSV row of the relay's generic columns (csv-stringify), every 10,000 rows become one
 * gzip object (zlib) uploaded to S3 (lib-storage's Upload). No validation: less than the
 * relay does per record, which favours the peer. Progress counts rows made, as the relay
 * counts records routed into its sink.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { stringify } from 'csv-stringify/sync';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { createLifionConsumer, type LifionRecord } from '../lib/lifion-consumer.js';

interface PinpointEvent {
  readonly event_type?: string;
  readonly event_timestamp?: number | string;
  readonly application?: { readonly app_id?: string };
  readonly client?: { readonly client_id?: string; readonly cognito_id?: string };
  readonly attributes?: Record<string, unknown>;
  readonly metrics?: Record<string, number>;
}

const OBJECT_RECORDS = 10_000;
const gzipAsync = promisify(gzip);
const env = process.env;
const bucket = env.BENCH_BUCKET ?? 'bench-archive';
const prefix = env.BENCH_PREFIX ?? 'lifion-pipeline';
const s3 = new S3Client({ region: env.AWS_REGION, forcePathStyle: true });
const consumer = createLifionConsumer(env);

let rows: string[][] = [];
let objects = 0;
let uploaded = 0;
let processed = 0;

function row(shardId: string, record: LifionRecord): string[] {
  const event = record.data as PinpointEvent;
  return [
    `${shardId}:${record.sequenceNumber}:0`,
    event.event_type ?? '',
    new Date(Number(event.event_timestamp)).toISOString(),
    'pinpoint',
    event.application?.app_id ?? '',
    event.client?.client_id ?? '',
    event.client?.cognito_id ?? '',
    shardId,
    record.sequenceNumber,
    '0',
    new Date(record.approximateArrivalTimestamp).toISOString(),
    JSON.stringify(event.attributes ?? {}),
    JSON.stringify(event.metrics ?? {}),
  ];
}

async function upload(batch: string[][]): Promise<void> {
  const body = await gzipAsync(stringify(batch));
  const key = `${prefix}/${new Date().toISOString().slice(0, 13)}/part-${(objects += 1)}.csv.gz`;
  await new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: body } }).done();
  uploaded += 1;
}

consumer.on('data', (batch) => {
  for (const record of batch.records) {
    rows.push(row(batch.shardId, record));
    if (rows.length >= OBJECT_RECORDS) {
      const full = rows;
      rows = [];
      upload(full).catch((error: unknown) => console.error('upload failed:', error));
    }
  }
  processed += batch.records.length;
});
setInterval(() => console.log(`progress ${processed}`), 50);
consumer.on('error', (error) => console.error('lifion-kinesis error:', error.message));
await consumer.startConsumer();
process.on('SIGTERM', () => {
  console.log(JSON.stringify({ objects, uploaded }));
  process.exit(0);
});
