/*
 * The physical ceiling: the same SDK client the relay builds, one GetRecords loop per
 * shard at the relay's call pacing, JSON.parse of every record, and nothing else. Exits
 * once every shard is read to its end. Run as its own process by the ceiling scenario.
 */
import { sleep } from '../../src/core/backoff.js';
import { awsErrorName } from '../../src/core/errors.js';
import { createAwsClients, destroyAwsClients } from '../../src/kinesis/clients.js';
import { KinesisStreamApi } from '../../src/kinesis/stream-api.js';

const stream = process.env.BENCH_STREAM ?? 'bench';
const minCallIntervalMs = Number(process.env.BENCH_MIN_CALL_INTERVAL_MS ?? 200);
const limit = Number(process.env.BENCH_LIMIT ?? 10_000);

const clients = createAwsClients({ region: 'us-east-1' });
const api = new KinesisStreamApi(clients.kinesis, stream);
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
destroyAwsClients(clients);
console.log(JSON.stringify({ parsed, checksum }));
