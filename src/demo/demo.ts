import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Relay } from '../app.js';
import { validateConfig } from '../config/load.js';
import { UsageError, errorMessage } from '../core/errors.js';
import { describeCheckpoint } from '../core/checkpoint.js';
import { createAwsClients, destroyAwsClients, type AwsClients } from '../kinesis/clients.js';
import { LeaseStore } from '../leases/lease-store.js';
import { createLogger } from '../observability/logger.js';
import { startLocalStack } from './emulators.js';
import { createStream, kplAggregate, putAll, type OutgoingRecord } from './producer.js';
import { sampleEvent } from './sample-events.js';

const STREAM = 'demo-events';
const BUCKET = 'demo-archive';

export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new UsageError(`--duration: '${text}' is not a duration like 20s, 2m or 500ms`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  return Math.round(value * (unit === 'ms' ? 1 : unit === 's' ? 1000 : 60_000));
}

function demoConfig(deadLetterDirectory: string) {
  return validateConfig(
    {
      application: 'kinesis-relay-demo',
      stream: { name: STREAM, initialPosition: 'TRIM_HORIZON' },
      leases: { failoverMs: 3000, shardSyncIntervalMs: 5000 },
      consumer: { idleTimeBetweenReadsMs: 250 },
      sinks: [
        {
          name: 'archive',
          type: 's3',
          bucket: BUCKET,
          format: 'csv',
          layout: 'airship',
          appKey: 'demo-app-key',
          integrationId: 'relay',
          compression: 'gzip',
          buffer: { maxRecords: 5000, maxBytes: 8 * 1024 * 1024, maxAgeMs: 2000 },
        },
        {
          name: 'events',
          type: 's3',
          bucket: BUCKET,
          prefix: 'jsonl/',
          format: 'jsonl',
          layout: 'hourly',
          compression: 'none',
          buffer: { maxRecords: 5000, maxBytes: 8 * 1024 * 1024, maxAgeMs: 2000 },
        },
      ],
      deadLetter: { type: 'directory', path: deadLetterDirectory },
      checkpoint: { intervalMs: 1000 },
      metrics: { port: 0, host: '127.0.0.1' },
      log: { level: 'warn' },
    },
    'demo',
    {},
  );
}

/** Sample records of every format; every 4th batch KPL-aggregated, plus one broken record. */
function sampleRecords(from: number, count: number): OutgoingRecord[] {
  const records: OutgoingRecord[] = [];
  for (let n = from; n < from + count; n += 4) {
    const group = Array.from({ length: Math.min(4, from + count - n) }, (_, i) => ({
      partitionKey: `user-${(n + i) % 97}`,
      data: Buffer.from(JSON.stringify(sampleEvent(n + i))),
    }));
    if ((n / 4) % 4 === 3) records.push(kplAggregate(group));
    else records.push(...group);
  }
  return records;
}

export async function runDemo(options: { durationMs: number }): Promise<number> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const started = Date.now();
  say(
    'kinesis-relay demo: starting embedded Kinesis (kinesis-local), DynamoDB (dynalite) and S3 (s3rver)…',
  );
  const stack = await startLocalStack();
  Object.assign(process.env, stack.env);
  const clients = createAwsClients({ region: 'us-east-1' });
  const deadLetterDirectory = mkdtempSync(join(tmpdir(), 'kinesis-relay-dead-letter-'));
  let relay: Relay | undefined;
  try {
    await createStream(clients.kinesis, STREAM, 4);
    await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    say(
      `  kinesis ${stack.kinesis.endpoint}  dynamodb ${stack.dynamo.endpoint}  s3 ${stack.s3.endpoint}`,
    );

    let produced = 0;
    const produce = async (count: number) => {
      const records = sampleRecords(produced, count);
      if (produced === 0)
        records.push({ partitionKey: 'broken', data: Buffer.from('this is not JSON {') });
      await putAll(clients.kinesis, STREAM, records);
      produced += count;
    };
    await produce(700);
    say(
      `  created stream ${STREAM} (4 shards), put ${produced} sample events (Pinpoint app/email/SMS, Airship, mParticle, Mobile Analytics; some KPL-aggregated) and 1 broken record`,
    );

    relay = new Relay(demoConfig(deadLetterDirectory), { log: createLogger('warn'), clients });
    await relay.start();
    say(
      `  relay running as ${relay.workerId}; metrics on http://127.0.0.1:${relay.httpPort}/metrics`,
    );

    const deadline = started + options.durationMs;
    while (Date.now() + 3000 < deadline) {
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(2000, deadline - Date.now() - 3000)),
      );
      if (Date.now() + 3000 < deadline) await produce(70);
    }
    say(`  put ${produced} events in all; stopping the relay (flush, checkpoint, release leases)…`);
    const clean = await relay.stop();
    relay = undefined;

    await printLanded(clients, say);
    await printDecoded(clients, say);
    await printCheckpoints(clients, say);
    printDeadLetters(deadLetterDirectory, say);
    say(clean ? 'demo finished cleanly.' : 'demo finished, but the relay did not stop in time.');
    return clean ? 0 : 1;
  } catch (error) {
    say(`demo failed: ${errorMessage(error)}`);
    return 1;
  } finally {
    if (relay) await relay.stop().catch(() => undefined);
    destroyAwsClients(clients);
    await stack.stop();
  }
}

async function printLanded(clients: AwsClients, say: (line: string) => void): Promise<void> {
  say(`\nWhat landed in s3://${BUCKET}/ (object key: records):`);
  let total = 0;
  for (const key of await listKeys(clients.s3, BUCKET)) {
    const lines = await countLines(clients.s3, BUCKET, key);
    const records = key.includes('.csv') ? lines - 1 : lines;
    total += records;
    say(`  ${key}: ${records}`);
  }
  say(`  (${total} rows in all)`);
}

/**
 * What each decoder made of its records, read back from the JSON Lines sink: per source
 * format the event count and types, and one normalized event (without its original).
 */
async function printDecoded(clients: AwsClients, say: (line: string) => void): Promise<void> {
  const byFormat = new Map<string, { count: number; types: Set<string>; sample: object }>();
  for (const key of (await listKeys(clients.s3, BUCKET)).filter((k) => k.startsWith('jsonl/'))) {
    for (const line of await readLines(clients.s3, BUCKET, key)) {
      const event = JSON.parse(line) as { format: string; type: string; original?: unknown };
      const { original: _original, ...normalized } = event;
      const entry = byFormat.get(event.format) ?? {
        count: 0,
        types: new Set<string>(),
        sample: normalized,
      };
      entry.count += 1;
      entry.types.add(event.type);
      byFormat.set(event.format, entry);
    }
  }
  say('\nWhat each decoder produced (from the JSON Lines sink):');
  for (const [format, { count, types, sample }] of [...byFormat].sort()) {
    say(`  ${format}: ${count} events; types ${[...types].sort().join(', ')}`);
    const text = JSON.stringify(sample);
    say(`    e.g. ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`);
  }
}

async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

async function readLines(s3: S3Client, bucket: string, key: string): Promise<string[]> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = Buffer.from(await object.Body!.transformToByteArray());
  const text = (key.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  return text.split('\n').filter((line) => line !== '');
}

async function countLines(s3: S3Client, bucket: string, key: string): Promise<number> {
  return (await readLines(s3, bucket, key)).length;
}

async function printCheckpoints(clients: AwsClients, say: (line: string) => void): Promise<void> {
  say('\nCheckpoints in the lease table kinesis-relay-demo:');
  const leases = await new LeaseStore(clients.dynamo, 'kinesis-relay-demo').listLeases();
  for (const lease of leases.sort((a, b) => a.leaseKey.localeCompare(b.leaseKey))) {
    say(
      `  ${lease.leaseKey}: ${describeCheckpoint(lease.checkpoint)} (owner ${lease.leaseOwner ?? 'none: released'})`,
    );
  }
}

function printDeadLetters(directory: string, say: (line: string) => void): void {
  const files = listFiles(directory);
  say(`\nDead-letter files in ${directory}:`);
  for (const file of files) {
    const entries = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    say(`  ${relative(directory, file)}: ${entries.length} record(s)`);
    for (const entry of entries.slice(0, 3)) {
      const parsed = JSON.parse(entry) as {
        shardId: string;
        sequenceNumber: string;
        error: string;
      };
      say(`    ${parsed.shardId} ${parsed.sequenceNumber}: ${parsed.error}`);
    }
  }
  if (files.length === 0) say('  (none)');
}

function listFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}
