import {
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  RegisterStreamConsumerCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { sleep } from '../../core/backoff.js';
import { awsErrorName } from '../../core/errors.js';
import type { Logger } from '../../observability/logger.js';
import { streamParameters } from '../stream-api.js';

/** The registered consumer SubscribeToShard names. */
export interface StreamConsumer {
  readonly consumerArn: string;
  readonly consumerName: string;
  readonly streamArn: string;
}

/** How long registration waits for ACTIVE (AWS takes seconds; a few minutes at most). */
const ACTIVE_WITHIN_MS = 5 * 60_000;

/** RegisterStreamConsumer takes a stream ARN; a stream named by name is looked up. */
export async function streamArnOf(client: KinesisClient, stream: string): Promise<string> {
  if (stream.startsWith('arn:')) return stream;
  const summary = await client.send(
    new DescribeStreamSummaryCommand({ ...streamParameters(stream) }),
  );
  const arn = summary.StreamDescriptionSummary?.StreamARN;
  if (!arn) throw new Error(`DescribeStreamSummary returned no ARN for stream ${stream}`);
  return arn;
}

/**
 * Registers the stream consumer, or reuses it when it is already registered (another
 * worker of the application, or an earlier run), and waits until it is ACTIVE.
 * A consumer still DELETING (a `fanout deregister` just ran) is waited out and registered
 * again.
 */
export async function ensureStreamConsumer(
  client: KinesisClient,
  stream: string,
  consumerName: string,
  log: Logger,
  signal?: AbortSignal,
): Promise<StreamConsumer> {
  const streamArn = await streamArnOf(client, stream);
  const deadline = Date.now() + ACTIVE_WITHIN_MS;
  for (let attempt = 1; Date.now() < deadline; attempt += 1) {
    signal?.throwIfAborted();
    const existing = await describe(client, streamArn, consumerName);
    if (existing?.status === 'ACTIVE') {
      log.info({ consumerName, consumerArn: existing.arn }, 'stream consumer is active');
      return { consumerArn: existing.arn, consumerName, streamArn };
    }
    if (existing === null) {
      try {
        await client.send(
          new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }),
        );
        log.info({ consumerName, streamArn }, 'registered the stream consumer');
      } catch (error) {
        // Another worker registered it first, or registrations are throttled (5/s).
        const name = awsErrorName(error);
        if (name !== 'ResourceInUseException' && name !== 'LimitExceededException') throw error;
      }
    }
    await sleep(Math.min(500 * attempt, 5_000), signal);
  }
  throw new Error(`stream consumer ${consumerName} did not become ACTIVE within 5 minutes`);
}

/** Removes the registered consumer; false when there was none. */
export async function deregisterStreamConsumer(
  client: KinesisClient,
  stream: string,
  consumerName: string,
): Promise<boolean> {
  const streamArn = await streamArnOf(client, stream);
  try {
    await client.send(
      new DeregisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }),
    );
    return true;
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return false;
    throw error;
  }
}

async function describe(
  client: KinesisClient,
  streamArn: string,
  consumerName: string,
): Promise<{ arn: string; status: string } | null> {
  try {
    const { ConsumerDescription: found } = await client.send(
      new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }),
    );
    if (!found?.ConsumerARN) return null;
    return { arn: found.ConsumerARN, status: found.ConsumerStatus ?? 'CREATING' };
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return null;
    throw error;
  }
}
