/*
 * The physical ceiling of an SDK-based consumer: the stock @aws-sdk/client-kinesis,
 * configured as the relay configures its client (HTTP/1.1 keep-alive, standard retries,
 * no logger middleware) but reading GetRecords responses with the SDK's own deserializer,
 * not the relay's reader (BENCH_CEILING_READER=relay for that); one GetRecords loop per
 * shard at the relay's call pacing, JSON.parse of every record, and nothing else. Exits
 * once every shard is read to its end. Run as its own process by the ceiling scenario.
 */
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';
import { sleep } from '../../src/core/backoff.js';
import { awsErrorName } from '../../src/core/errors.js';
import { createAwsClients } from '../../src/kinesis/clients.js';
import { KinesisStreamApi } from '../../src/kinesis/stream-api.js';

const stream = process.env.BENCH_STREAM ?? 'bench';
const minCallIntervalMs = Number(process.env.BENCH_MIN_CALL_INTERVAL_MS ?? 200);
const limit = Number(process.env.BENCH_LIMIT ?? 10_000);

function stockKinesisClient(): KinesisClient {
  const client = new KinesisClient({
    region: 'us-east-1',
    retryMode: 'standard',
    maxAttempts: 4,
    requestHandler: new NodeHttpHandler({
      httpAgent: new Agent({ keepAlive: true, maxSockets: 256 }),
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
    }),
  });
  client.middlewareStack.remove('loggerMiddleware');
  return client;
}

const kinesis =
  process.env.BENCH_CEILING_READER === 'relay'
    ? createAwsClients({ region: 'us-east-1' }).kinesis
    : stockKinesisClient();
const api = new KinesisStreamApi(kinesis, stream);
let parsed = 0;
let checksum = 0;

async function readShard(shardId: string): Promise<void> {
  let iterator = await api.getShardIterator(shardId, { type: 'TRIM_HORIZON' });
  let lastCallAt = 0;
  for (;;) {
    await sleep(lastCallAt + minCallIntervalMs - Date.now());
    lastCallAt = Date.now();
    let page;
    try {
      page = await api.getRecords(iterator, limit);
    } catch (error) {
      if (awsErrorName(error) === 'ProvisionedThroughputExceededException') continue;
      throw error;
    }
    for (const record of page.records) {
      const data = record.Data ?? new Uint8Array();
      const event = JSON.parse(
        Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'),
      ) as { event_type?: string };
      // Used, so the parse cannot be optimized away.
      checksum += event.event_type?.length ?? 0;
      parsed += 1;
    }
    if (page.nextIterator === null) return;
    iterator = page.nextIterator;
    if (page.records.length === 0 && (page.millisBehindLatest ?? 0) === 0) return;
  }
}

// Progress for the bench (records parsed so far), read from stdout.
const report = setInterval(() => console.log(`progress ${parsed}`), 50);
const shards = await api.listShards();
await Promise.all(shards.map((shard) => readShard(shard.shardId)));
clearInterval(report);
console.log(`progress ${parsed}`);
kinesis.destroy();
console.log(JSON.stringify({ parsed, checksum }));
