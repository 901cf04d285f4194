import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { directoryDeadLetter } from '../../test/support/dead-letters.js';
import { quietSinkDeps } from '../../test/support/events.js';
import { startHttpReceiver, type HttpReceiver } from '../../test/support/http-receiver.js';
import { validateConfig } from '../config/load.js';
import { createDecoder, csvShapeFor } from '../decode/index.js';
import { userRecord } from '../decode/fixtures/samples.js';
import { createSinks, type SinkSet } from '../sinks/create-sinks.js';
import { Router } from './router.js';
import { ShardPipeline } from './shard-pipeline.js';

/*
 * A graceful handoff (RunningShards.handOver, src/app-running-shards.ts) and SHARD_END wait for
 * `drained()`: every record the shard handed over acknowledged. The handoff waits at most its
 * drain budget (15 s at the default failoverMs), while an open batch waits for buffer.maxAgeMs
 * (60 s by default for S3 and Redshift): the shard was then handed over with its checkpoint
 * behind records that were still delivered later, and the next owner delivered them again.
 */
describe('ShardPipeline.drained', () => {
  let receiver: HttpReceiver | null = null;
  let sinkSet: SinkSet | null = null;
  afterEach(async () => {
    await Promise.all((sinkSet?.sinks ?? []).map(({ sink }) => sink.close()));
    await sinkSet?.deadLetter.close();
    await receiver?.close();
  });

  it('writes the open batches holding the shard records instead of waiting for their age', async () => {
    receiver = await startHttpReceiver(() => ({ status: 200 }));
    const config = validateConfig(
      {
        application: 'drain-test',
        stream: { name: 'events' },
        decode: { format: 'json' },
        deadLetter: directoryDeadLetter(),
        sinks: [
          {
            name: 'hooks',
            type: 'webhook',
            url: receiver.url,
            // An hour: only a cut for the drain writes these events in time.
            buffer: { maxRecords: 100_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 3_600_000 },
          },
        ],
      },
      'drain-test',
      {},
    );
    sinkSet = createSinks(config, {
      s3: new S3Client({ region: 'us-east-1' }),
      csvShapeFor,
      ...quietSinkDeps(),
    });
    const pipeline = new ShardPipeline(
      createDecoder('json'),
      new Router(sinkSet.sinks.map(({ sink }) => ({ sink, eventTypes: [], formats: [] }))),
      sinkSet.deadLetter,
      null,
      () => undefined,
    );
    const records = Array.from({ length: 20 }, (_, n) =>
      userRecord({ n }, { sequenceNumber: String(1000 + n), partitionKey: `pk-${n}` }),
    );
    await pipeline.process(records);
    let drained = false;
    void pipeline.drained().then(() => (drained = true));
    for (let waited = 0; !drained && waited < 30_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(drained).toBe(true);
    expect(pipeline.checkpointable()?.sequenceNumber).toBe('1019');
    const delivered = receiver.requests.flatMap(
      (request) => JSON.parse(request.body.toString()) as unknown[],
    );
    expect(delivered).toHaveLength(20);
  });
});
