import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { _Record } from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it } from 'vitest';
import type { AckHandle } from '../../core/ack.js';
import type { CheckpointWrite } from '../../core/checkpoint.js';
import type { RelayEvent } from '../../core/event.js';
import type { UserRecord } from '../../core/record.js';
import { createDecoder } from '../../decode/index.js';
import { ShardConsumer } from '../../kinesis/shard-consumer.js';
import type { RecordsPage, ShardReadApi } from '../../kinesis/stream-api.js';
import { createLogger } from '../../observability/logger.js';
import { createMetrics } from '../../observability/metrics.js';
import type { DeadLetterEntry, DeadLetterSink, PreEncodedEvent, Sink } from '../../sinks/sink.js';
import { Router } from '../router.js';
import { ShardPipeline } from '../shard-pipeline.js';
import { DecodePool } from './decode-pool.js';
import { FAST_SHARD_OPTIONS } from '../../../test/support/shard-consumer-options.js';

const SHARD = 'shardId-000000000001';
const sequence = (n: number) => String(49_000_000_000n + BigInt(n));

/** A closed shard of `count` JSON records in one page; record 3 carries `key3`. */
function closedShard(count: number, key3: string): ShardReadApi {
  return {
    stream: 'stream-1',
    getShardIterator: async () => 'iterator-0',
    getRecords: async (): Promise<RecordsPage> => ({
      records: Array.from({ length: count }, (_, i): _Record => ({
        SequenceNumber: sequence(i + 1),
        PartitionKey: i + 1 === 3 ? key3 : 'pk',
        Data: new TextEncoder().encode(`{"n":${i + 1}}`),
        ApproximateArrivalTimestamp: new Date(Date.UTC(2024, 0, 1)),
      })),
      nextIterator: null,
      millisBehindLatest: 0,
    }),
  };
}

/** Takes pre-encoded lines (as an S3 sink does) and acknowledges each at once. */
class AckingSink implements Sink, DeadLetterSink {
  readonly lines: string[] = [];
  readonly name = 'acking';
  write(_event: RelayEvent | DeadLetterEntry, ack: AckHandle): void {
    ack.ack();
  }
  writeEncoded(encoded: PreEncodedEvent, _record: UserRecord, ack: AckHandle): void {
    this.lines.push(encoded.line);
    ack.ack();
  }
  waitForCapacity(): undefined {
    return undefined;
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

describe('a decode worker that crashes', () => {
  let pool: DecodePool | null = null;
  afterEach(async () => {
    await pool?.close();
    pool = null;
  });

  it('fails its page like a failed read: the shard loop reads the page again and delivers each record once', async () => {
    const flag = join(mkdtempSync(join(tmpdir(), 'kinesis-relay-crash-')), 'crash');
    writeFileSync(flag, '');
    const output = new PassThrough();
    let logged = '';
    output.on('data', (chunk: Buffer) => (logged += chunk.toString()));
    const log = createLogger('warn', output);
    pool = new DecodePool({
      threads: 2,
      log,
      worker: new URL('../../../test/support/crashing-decode-worker.ts', import.meta.url),
      spec: {
        decodeFormat: 'json',
        streamInIds: false,
        sinks: [
          {
            filter: { eventTypes: [], formats: [] },
            encoding: {
              type: 's3',
              format: 'jsonl',
              verbatimJson: true,
              layout: { layout: 'hourly', sinkName: 's', prefix: '', compression: 'none' },
            },
          },
        ],
      },
    });
    const sink = new AckingSink();
    const pipeline = new ShardPipeline(
      createDecoder('json'),
      new Router([{ sink, eventTypes: [], formats: [] }]),
      sink,
      pool,
      () => undefined,
    );
    const written: CheckpointWrite[] = [];
    const consumer = new ShardConsumer({
      api: closedShard(5, `crash-once:${flag}`),
      shardId: SHARD,
      startFrom: 'TRIM_HORIZON',
      processor: pipeline,
      checkpoints: { write: async (_shard, checkpoint) => void written.push(checkpoint) },
      waitForParents: async () => true,
      options: FAST_SHARD_OPTIONS,
      log,
      metrics: createMetrics(),
    });

    expect(await consumer.run()).toBe('shard-end');
    expect(logged).toContain('reading the shard failed');
    expect(sink.lines).toEqual([1, 2, 3, 4, 5].map((n) => `{"n":${n}}\n`));
    expect(written.at(-1)).toBe('SHARD_END');
  });
});
