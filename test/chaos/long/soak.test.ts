import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
} from '@aws-sdk/client-kinesis';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { freePort, startDynalite, startS3rver } from '../../../src/demo/emulators.js';
import { putAll } from '../../../src/demo/producer.js';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.js';
import { numberedRecord } from '../../support/records.js';
import { eventually, uniqueName } from '../../support/stack.js';
import { reportScenario } from '../support/report.js';
import { chaosConfig, startWorker, stopWorkers, type Worker } from '../support/workers.js';

const require = createRequire(import.meta.url);
const SOAK_MS = Number(process.env.CHAOS_SOAK_MS ?? 30 * 60_000);
const RATE = Number(process.env.CHAOS_SOAK_RATE ?? 2000);
const SHARDS = 8;
const WARM_UP_MS = Math.min(2 * 60_000, SOAK_MS / 5);
const SAMPLE_EVERY_MS = 10_000;
/** "Flat": the fitted RSS growth over the whole soak stays under this share of its mean. */
const MAX_GROWTH_SHARE = 0.1;
/** Open descriptors may vary with sockets in use, not grow with time. */
const MAX_FD_GROWTH = 20;

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

function procStatus(pid: number, field: string): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(
    readFileSync(`/proc/${pid}/status`, 'utf8'),
  );
  return match ? Number(match[1]) * 1024 : 0;
}

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/*
 * 30 minutes at 2,000 records/s over 8 shards (kinesalite: kinesis-local slows as shards
 * fill) with S3 failing 1 % of uploads: RSS stays flat (its fitted slope is reported), no
 * record is lost, and the relay's open descriptors do not grow (no handle leak).
 * CHAOS_SOAK_MS and CHAOS_SOAK_RATE shorten it for a trial run.
 */
describe('chaos: soak', () => {
  let stop: (() => Promise<void>) | undefined;
  let env: NodeJS.ProcessEnv = {};
  let kinesis: KinesisClient;
  let s3: S3Client;
  let s3Proxy: FaultProxy;

  beforeAll(async () => {
    const port = await freePort();
    const kinesalite = spawn(
      process.execPath,
      [
        require.resolve('kinesalite/cli.js'),
        '--port',
        String(port),
        '--createStreamMs',
        '0',
        '--shardLimit',
        '200',
      ],
      { stdio: 'ignore' },
    );
    const dynamo = await startDynalite();
    const s3rver = await startS3rver();
    s3Proxy = await startFaultProxy({ target: s3rver.endpoint, seed: 2000 });
    const kinesisEndpoint = `http://127.0.0.1:${port}`;
    kinesis = new KinesisClient({
      region: 'us-east-1',
      endpoint: kinesisEndpoint,
      credentials,
      requestHandler: new NodeHttpHandler(),
    });
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint: s3rver.endpoint,
      credentials,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    env = {
      ...process.env,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_KINESIS: kinesisEndpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_S3: s3Proxy.endpoint,
    };
    stop = async () => {
      kinesis.destroy();
      s3.destroy();
      await s3Proxy.close();
      await Promise.allSettled([dynamo.stop(), s3rver.stop()]);
      if (kinesalite.exitCode === null) {
        const exited = new Promise((resolve) => kinesalite.once('exit', resolve));
        kinesalite.kill('SIGKILL');
        await exited;
      }
    };
  });
  afterAll(async () => {
    await stop?.();
  });

  it('30 minutes at 2,000 records/s, S3 failing 1 % of uploads: RSS flat, nothing lost, no handle leak', async () => {
    const names = {
      stream: uniqueName('chaos-soak'),
      table: uniqueName('chaos-soak-leases'),
      bucket: uniqueName('chaos-soak-archive'),
    };
    await eventually(
      'kinesalite to create the stream',
      async () => {
        await kinesis.send(
          new CreateStreamCommand({ StreamName: names.stream, ShardCount: SHARDS }),
        );
        return true;
      },
      30_000,
      200,
    );
    await eventually(
      'the stream to be ACTIVE',
      async () =>
        (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: names.stream })))
          .StreamDescriptionSummary?.StreamStatus === 'ACTIVE'
          ? true
          : undefined,
      30_000,
      200,
    );
    await s3.send(new CreateBucketCommand({ Bucket: names.bucket }));
    const configPath = chaosConfig(names, {
      failoverMs: 10_000,
      checkpointIntervalMs: 5000,
      overrides: { consumer: { idleTimeBetweenReadsMs: 200 } },
      sink: { buffer: { maxRecords: 20_000, maxBytes: 8 * 1_048_576, maxAgeMs: 2000 } },
    });
    s3Proxy.inject({
      match: /^(PUT|POST) /,
      fault: { kind: 'status', status: 500 },
      probability: 0.01,
    });

    const workers: Worker[] = [];
    let next = 0;
    let producing = true;
    const producer = (async () => {
      const startedAt = Date.now();
      const batch = Math.min(500, Math.round(RATE / 5));
      while (producing) {
        const records = Array.from({ length: batch }, (_, i) => numberedRecord(next + i));
        await putAll(kinesis, names.stream, records);
        next += batch;
        const dueAt = startedAt + (next / RATE) * 1000;
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - Date.now())));
      }
    })();
    const rss: { x: number; y: number }[] = [];
    const fds: number[] = [];
    try {
      const worker = await startWorker(configPath, env);
      workers.push(worker);
      const pid = worker.relay.child.pid ?? 0;
      const soakStart = Date.now();
      while (Date.now() - soakStart < SOAK_MS) {
        await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
        const at = Date.now() - soakStart;
        if (worker.relay.child.exitCode !== null) break;
        if (at >= WARM_UP_MS) {
          rss.push({ x: at / 3_600_000, y: procStatus(pid, 'VmRSS') / 1_048_576 });
          fds.push(readdirSync(`/proc/${pid}/fd`).length);
        }
      }
      producing = false;
      await producer;
      const put = next;
      const producedUntil = Date.now();

      // Count deliveries per record number, one object at a time (millions of lines).
      const seen = new Uint8Array(put);
      let completeAt: number | null = null;
      const scanned = new Set<string>();
      const deadline = Date.now() + 15 * 60_000;
      let missing = put;
      while (Date.now() < deadline) {
        let token: string | undefined;
        do {
          const page = await s3.send(
            new ListObjectsV2Command({ Bucket: names.bucket, ContinuationToken: token }),
          );
          for (const entry of page.Contents ?? []) {
            const key = entry.Key ?? '';
            if (scanned.has(key) || !key.includes('.jsonl')) continue;
            scanned.add(key);
            const object = await s3.send(new GetObjectCommand({ Bucket: names.bucket, Key: key }));
            const bytes = Buffer.from(await object.Body!.transformToByteArray());
            const text = (key.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
            for (const match of text.matchAll(/"original":\{"n":(\d+)/g)) {
              const n = Number(match[1]);
              if (n < put && (seen[n] ?? 0) < 255) seen[n] = (seen[n] ?? 0) + 1;
            }
          }
          token = page.NextContinuationToken;
        } while (token);
        missing = seen.reduce((sum, count) => sum + (count === 0 ? 1 : 0), 0);
        if (missing === 0) {
          completeAt = Date.now();
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 10_000));
      }
      const duplicates = seen.reduce((sum, count) => sum + Math.max(0, count - 1), 0);
      const peak = worker.relay.peakRssBytes() / 1_048_576;
      const rssSlope = slope(rss);
      const meanRss = rss.reduce((s, p) => s + p.y, 0) / Math.max(1, rss.length);
      const growth = rssSlope * (SOAK_MS / 3_600_000);
      const fdGrowth = fds.length > 1 ? (fds.at(-1) ?? 0) - (fds[0] ?? 0) : 0;
      const alive = worker.relay.child.exitCode === null;
      const pass =
        alive && missing === 0 && growth < MAX_GROWTH_SHARE * meanRss && fdGrowth <= MAX_FD_GROWTH;
      reportScenario('09-soak', {
        scenario: `soak ${SOAK_MS / 60_000} min at ${RATE} records/s, 8 shards, S3 failing 1 % of uploads (kinesalite)`,
        put,
        delivered: put - missing,
        duplicates,
        lost: missing,
        recoveryMs: completeAt === null ? null : completeAt - producedUntil,
        dynamoRetried: 0,
        kinesisRetried: 0,
        s3Retried: s3Proxy.faultCount(),
        pass,
        notes:
          `RSS slope ${rssSlope.toFixed(1)} MB/h (mean ${meanRss.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, ` +
          `fitted growth over the soak ${growth.toFixed(1)} MB, limit ${(MAX_GROWTH_SHARE * meanRss).toFixed(0)}); ` +
          `open fds ${fds[0] ?? '?'} → ${fds.at(-1) ?? '?'}; recovery = last put → all delivered; relay ${alive ? 'ran throughout' : 'EXITED'}`,
      });

      expect(alive, 'the relay ran throughout').toBe(true);
      expect(missing, 'records lost').toBe(0);
      expect(growth, `RSS growth (slope ${rssSlope.toFixed(1)} MB/h)`).toBeLessThan(
        MAX_GROWTH_SHARE * meanRss,
      );
      expect(fdGrowth, 'open file descriptors grew').toBeLessThanOrEqual(MAX_FD_GROWTH);
    } finally {
      producing = false;
      await producer.catch(() => undefined);
      await stopWorkers(workers);
    }
  });
});
