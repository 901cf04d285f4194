import { SubscribeToShardCommand } from '@aws-sdk/client-kinesis';
import { afterEach, describe, expect, it } from 'vitest';
import { blackHole } from '../../../test/support/black-hole.js';
import { createFanoutKinesisClient, type FanoutProtocol } from './fanout-client.js';

describe('the fan-out Kinesis client', () => {
  const closing: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closing.splice(0)) await close();
  });

  it.each<FanoutProtocol>(['http1.1', 'http2'])(
    'a SubscribeToShard (%s) on a connection that stays silent fails at the idle timeout instead of hanging the shard',
    async (protocol) => {
      const hole = await blackHole();
      closing.push(hole.close);
      const client = createFanoutKinesisClient({
        region: 'us-east-1',
        protocol,
        endpoint: hole.url,
        idleMs: 500,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      closing.push(async () => client.destroy());
      const call = client.send(
        new SubscribeToShardCommand({
          ConsumerARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1',
          ShardId: 'shardId-000000000000',
          StartingPosition: { Type: 'LATEST' },
        }),
      );
      // The test's own bound: far above the idle timeout and the SDK's retries of it.
      const hung = Symbol('hung');
      const outcome = await Promise.race([
        call.then(
          () => 'answered',
          (error: unknown) => error,
        ),
        new Promise((resolve) => setTimeout(() => resolve(hung), 30_000)),
      ]);
      expect(outcome).not.toBe(hung);
      expect(outcome).toBeInstanceOf(Error);
    },
    40_000,
  );
});
