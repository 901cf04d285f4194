import {
  SubscribeToShardCommand,
  type KinesisClient,
  type StartingPosition,
  type SubscribeToShardEvent,
  type SubscribeToShardEventStream,
} from '@aws-sdk/client-kinesis';
import { backoffDelay, sleep } from '../../core/backoff.js';
import { awsErrorName, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../observability/logger.js';
import type { ShardBatches, ShardRecordSource } from '../shard-record-source.js';
import { sequenceOf } from '../iterator-start.js';
import type { IteratorStart } from '../stream-api.js';
import { ensureStreamConsumer, type StreamConsumer } from './consumer-registration.js';

/**
 * Too many subscriptions (LimitExceededException: 20 consumers, or a SubscribeToShard per
 * consumer and shard per second) or one still open for the same consumer and shard
 * (ResourceInUseException: the previous owner's, or ours before a reconnect closed it).
 * Both clear by waiting.
 */
const WAIT_ERRORS = new Set([
  'LimitExceededException',
  'ResourceInUseException',
  'KMSThrottlingException',
  'ThrottlingException',
]);

/** A subscription that failed is re-opened after this backoff (full jitter). */
const BACKOFF = { initialDelayMs: 250, maxDelayMs: 10_000 };

/**
 * A subscription that ended without an event and without an error (a server closing it
 * early) is re-opened after 1-2 s (jittered): AWS allows one SubscribeToShard per second
 * per consumer and shard, and one every 5 s after a successful call (ResourceInUseException
 * before, which the error backoff waits out), so re-opening at once was a tight loop that
 * AWS throttles. The wait does not grow: on a server that ends quiet subscriptions early
 * (the test front, kinesis-local under load) a growing wait of up to 10 s held a record
 * put meanwhile back for longer than a test's 30 s.
 */
const EMPTY_END_BACKOFF = { initialDelayMs: 2_000, maxDelayMs: 2_000 };

export interface SubscriptionReaderOptions {
  readonly client: KinesisClient;
  readonly stream: string;
  /** The registered consumer's name (config `consumer.fanout.consumerName`). */
  readonly consumerName: string;
  readonly log: Logger;
  /** The waits between subscriptions (tests record them); `sleep` of core/backoff.ts. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly random?: () => number;
}

/**
 * Enhanced fan-out: each owned shard read with SubscribeToShard instead of GetRecords.
 * A subscription delivers events for up to 5 minutes; when it ends, or fails, the shard
 * is subscribed again after the ContinuationSequenceNumber of the last event handed over
 * (AFTER_SEQUENCE_NUMBER), or from the loop's start while no event arrived. The event
 * stream is pull-based: the next event is not read while the sinks are still taking the
 * last one, so HTTP/2 flow control holds Kinesis back (backpressure).
 * The registered consumer is looked up (or registered) once, on the first subscription.
 */
export class SubscriptionReader implements ShardRecordSource {
  private consumer: Promise<StreamConsumer> | undefined;

  constructor(private readonly options: SubscriptionReaderOptions) {}

  /**
   * Shared by every shard loop, so not stopped by one loop's signal (a lease lost during
   * registration must not fail the others); each loop stops waiting on its own.
   */
  private streamConsumer(): Promise<StreamConsumer> {
    const { client, stream, consumerName, log } = this.options;
    this.consumer ??= ensureStreamConsumer(client, stream, consumerName, log).catch(
      (error: unknown) => {
        this.consumer = undefined; // the next shard loop tries again
        throw error;
      },
    );
    return this.consumer;
  }

  /** The registered consumer, looked up again if `failedArn` is the one on record. */
  private async freshConsumer(failedArn: string): Promise<StreamConsumer> {
    const current = await this.consumer?.catch(() => undefined);
    if (current?.consumerArn === failedArn) this.consumer = undefined;
    return this.streamConsumer();
  }

  async read(
    shardId: string,
    start: IteratorStart,
    batches: ShardBatches,
    signal: AbortSignal,
  ): Promise<boolean> {
    const log = this.options.log.child({ shardId });
    const consumer = await untilAborted(this.streamConsumer(), signal);
    if (!consumer) return false;
    let { consumerArn } = consumer;
    let from = start;
    let failures = 0;
    /** Subscriptions in a row that ended without an event and without an error. */
    let emptyEnds = 0;
    const wait = this.options.sleep ?? sleep;
    /** ResourceNotFoundException in a row while the consumer itself is there. */
    let notFound = 0;
    while (!signal.aborted) {
      let events = 0;
      // Every subscription after the first starts where the loop began, not at LATEST
      // again, until an event gives a position (see ShardBatches.latestStartedAt).
      const opening = from;
      if (from.type === 'LATEST' && batches.latestStartedAt)
        from = { type: 'AT_TIMESTAMP', timestamp: batches.latestStartedAt };
      try {
        const ended = await this.subscribe(consumerArn, shardId, opening, signal, async (event) => {
          events += 1;
          failures = 0;
          emptyEnds = 0;
          notFound = 0;
          await batches.deliver(event.Records ?? [], event.MillisBehindLatest ?? null);
          if (event.ContinuationSequenceNumber) {
            from = {
              type: 'AFTER_SEQUENCE_NUMBER',
              sequenceNumber: event.ContinuationSequenceNumber,
            };
          }
        });
        if (ended) return true;
        if (events > 0) {
          // The subscription's 5 minutes are up (or the server closed it): subscribe again.
          log.debug({ events }, 'subscription ended; subscribing again');
          continue;
        }
        emptyEnds += 1;
        const delayMs = backoffDelay(EMPTY_END_BACKOFF, emptyEnds - 1, this.options.random);
        log.warn(
          { emptyEnds, delayMs },
          'subscription ended without an event; subscribing again after a backoff',
        );
        await wait(delayMs, signal);
      } catch (error) {
        if (signal.aborted) break;
        const name = awsErrorName(error);
        const sequenceNumber = sequenceOf(from);
        if (events === 0 && sequenceNumber !== null && name === 'InvalidArgumentException') {
          // The start record is older than the retention: the checkpointed one (AT), or the
          // last one handed over (AFTER: a loop that fell behind past the retention, which
          // retried that position forever). As polling: read what is kept.
          batches.trimmed(sequenceNumber, `${name}: ${errorMessage(error)}`);
          from = { type: 'TRIM_HORIZON' };
          continue;
        }
        if (name === 'ResourceNotFoundException') {
          // The consumer may be gone (deregistered under the running relay, as `fanout
          // deregister` does): it is found or registered again before the error is taken
          // to be about the shard. Never a finished shard for a missing consumer.
          const fresh = await untilAborted(this.freshConsumer(consumerArn), signal);
          if (!fresh) break;
          if (fresh.consumerArn !== consumerArn) {
            log.warn({ consumerArn: fresh.consumerArn }, 'stream consumer registered again');
            consumerArn = fresh.consumerArn;
            continue;
          }
          notFound += 1;
          if (events === 0 && notFound >= 2) {
            if (sequenceNumber !== null) {
              // As polling: a start record Kinesis does not hold resumes at TRIM_HORIZON.
              batches.trimmed(sequenceNumber, `${name}: ${errorMessage(error)}`);
              from = { type: 'TRIM_HORIZON' };
              continue;
            }
            // The shard is gone (trimmed or the stream deleted): finish it, as polling does.
            log.error('shard no longer exists (trimmed or deleted); finishing it as SHARD_END');
            return true;
          }
        } else {
          notFound = 0;
        }
        failures += 1;
        if (name && WAIT_ERRORS.has(name)) batches.throttled();
        log.warn(
          { err: errorMessage(error), code: name, failures, events },
          'subscription failed; subscribing again after a backoff',
        );
        await wait(backoffDelay(BACKOFF, failures, this.options.random), signal);
      }
    }
    return false;
  }

  /**
   * One SubscribeToShard call, its events handed to `onEvent` one at a time. True when the
   * shard ended: an event without a ContinuationSequenceNumber (its ChildShards name the
   * children; the lease coordinator starts them after the parents, as for polling).
   */
  private async subscribe(
    consumerArn: string,
    shardId: string,
    from: IteratorStart,
    signal: AbortSignal,
    onEvent: (event: SubscribeToShardEvent) => Promise<void>,
  ): Promise<boolean> {
    const call = new AbortController();
    const stop = (): void => call.abort(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    try {
      const response = await this.options.client.send(
        new SubscribeToShardCommand({
          ConsumerARN: consumerArn,
          ShardId: shardId,
          StartingPosition: startingPosition(from),
        }),
        { abortSignal: call.signal },
      );
      for await (const message of response.EventStream ?? []) {
        if (signal.aborted) return false;
        const event = eventOf(message);
        await onEvent(event);
        if (!event.ContinuationSequenceNumber) {
          this.options.log.info(
            { shardId, childShards: (event.ChildShards ?? []).map((child) => child.ShardId) },
            'subscription reached the end of the shard',
          );
          return true;
        }
      }
      return false;
    } finally {
      signal.removeEventListener('abort', stop);
      // Leaving early (shard end, stop) closes the HTTP stream, not just the iteration.
      call.abort();
    }
  }
}

/** The promise's value, or undefined as soon as `signal` aborts. */
async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return undefined;
  let onAbort = (): void => {};
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The event of a message, or the error the stream carried instead. */
function eventOf(message: SubscribeToShardEventStream): SubscribeToShardEvent {
  if (message.SubscribeToShardEvent) return message.SubscribeToShardEvent;
  const error = Object.values(message).find((value): value is Error => value instanceof Error);
  if (error) throw error;
  const name = Object.keys(message)[0] ?? 'unknown';
  throw Object.assign(new Error(`unexpected event-stream member ${name}`), { name });
}

function startingPosition(from: IteratorStart): StartingPosition {
  switch (from.type) {
    case 'AT_SEQUENCE_NUMBER':
    case 'AFTER_SEQUENCE_NUMBER':
      return { Type: from.type, SequenceNumber: from.sequenceNumber };
    case 'AT_TIMESTAMP':
      return { Type: from.type, Timestamp: from.timestamp };
    default:
      return { Type: from.type };
  }
}
