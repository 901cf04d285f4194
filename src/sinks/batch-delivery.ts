import type { RetryConfig } from '../config/schema.js';
import { ackAfterEach, type AckHandle } from '../core/ack.js';
import type { UserRecord } from '../core/record.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { RelayMetrics } from '../observability/metrics.js';
import { deadLetterEntry } from './dead-letter-entry.js';
import {
  DestinationAccessError,
  deliverWithRetry,
  giveUpNote,
  splitsOn,
} from './delivery-retry.js';
import { readKeptRecords } from './kept-records.js';
import type { SettleableBatch } from './pending-batch.js';
import type { DeadLetterSink } from './sink.js';

export interface BatchDeliveryContext {
  readonly sink: string;
  readonly retry: RetryConfig;
  /** Null: nowhere to put a batch given up on, so never give up. */
  readonly deadLetter: DeadLetterSink | null;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
}

/** `write` resolves the bytes it sent, or `split` when the batch must go out in parts. */
export type BatchWrite = () => Promise<number | 'split'>;

export interface BatchDeliveryOptions {
  /**
   * Lambda's BisectBatchOnFunctionError: a batch of several events the destination refused,
   * or one out of `retry.maxAttempts`, is not dead-lettered but answered `split`, for the
   * caller to deliver its halves one by one, down to the events at fault.
   */
  readonly bisect?: boolean;
  /** When the batch this one was split from started its retries (the time budget is shared). */
  readonly startedAt?: number;
}

/**
 * The acknowledgement rule every sink follows: retry `write` per the sink's policy, then
 * acknowledge the batch (delivered) or hand each event to the dead-letter sink, which
 * acknowledges it once stored (refused: `sink_rejected`; out of attempts, time or record
 * age: `sink_gave_up`). `describe` names the batch in the logs.
 */
export async function deliverBatch(
  context: BatchDeliveryContext,
  batch: SettleableBatch,
  describe: Readonly<Record<string, string>>,
  write: BatchWrite,
  options: BatchDeliveryOptions = {},
): Promise<'settled' | 'split'> {
  const { sink, metrics, log } = context;
  let result = 0 as number | 'split';
  const splittable = options.bisect === true && batch.size > 1;
  const outcome = await deliverWithRetry(
    async () => {
      result = await write();
    },
    {
      policy: context.retry,
      mayGiveUp: context.deadLetter !== null,
      splittable,
      startedAt: options.startedAt,
      oldestRecordAt: oldestArrival(batch),
      onRetry: (error, attempt, delayMs) => {
        metrics.sinkRetries.inc({ sink });
        const fields = { sink, ...describe, attempt, delayMs, err: errorMessage(error) };
        if (error instanceof DestinationAccessError) {
          metrics.sinkAccessErrors.inc({ sink, reason: error.reason });
          log.error(
            { ...fields, reason: error.reason },
            'the destination refused access (check the credentials and the url); retrying',
          );
        } else {
          log.warn(fields, 'batch write failed; retrying');
        }
      },
    },
  );
  if (!outcome.delivered) {
    if (splittable && splitsOn(outcome.cause, context.deadLetter !== null)) {
      log.warn(
        { sink, ...describe, records: batch.size, err: outcome.error },
        'batch refused or out of attempts; bisecting it to isolate the events at fault',
      );
      return 'split';
    }
    const error = outcome.error + giveUpNote(outcome.cause, context.retry, outcome.attempts);
    log.error(
      { sink, ...describe, records: batch.size, err: error },
      'sink gave up on a batch; dead-lettering it',
    );
    deadLetterBatch(context, batch, outcome.rejected ? 'sink_rejected' : 'sink_gave_up', error);
    return 'settled';
  }
  if (result === 'split') return 'split';
  metrics.sinkRecords.inc({ sink, outcome: 'delivered' }, batch.size);
  metrics.sinkBatches.inc({ sink, outcome: 'delivered' });
  metrics.sinkBytes.inc({ sink }, result);
  for (const ack of batch.acks) ack.ack();
  return 'settled';
}

/** When the batch's oldest record reached Kinesis, for `retry.maxRecordAgeMs`. */
function oldestArrival(batch: SettleableBatch): number | undefined {
  return Number.isFinite(batch.oldestArrivalMs) ? batch.oldestArrivalMs : undefined;
}

function deadLetterBatch(
  context: BatchDeliveryContext,
  batch: SettleableBatch,
  reason: 'sink_rejected' | 'sink_gave_up',
  error: string,
): void {
  const { sink, metrics, deadLetter } = context;
  if (!deadLetter) throw new Error('unreachable: gave up without a dead-letter sink');
  const events = eventsOf(batch);
  if (events.length !== batch.size) {
    throw new Error('unreachable: a batch without its records cannot be dead-lettered');
  }
  metrics.sinkRecords.inc({ sink, outcome: 'dead_lettered' }, batch.size);
  metrics.sinkBatches.inc({ sink, outcome: 'dead_lettered' });
  for (const { record, ack } of events) {
    deadLetter.write(deadLetterEntry(record, reason, error, sink), ack);
  }
}

/**
 * Each event's record and handle: as kept, or for a batch of chunks read back from each
 * chunk's packed records, the chunk's handle called once all its events' entries are stored.
 */
function eventsOf(batch: SettleableBatch): Array<{ record: UserRecord; ack: AckHandle }> {
  const chunks = batch.chunkRecords;
  if (chunks.length === 0) {
    return batch.records.flatMap((record, index) => {
      const ack = batch.acks[index];
      return ack ? [{ record, ack }] : [];
    });
  }
  if (chunks.length !== batch.acks.length) {
    throw new Error('unreachable: a chunk without its records cannot be dead-lettered');
  }
  return chunks.flatMap((packed, index) => {
    const records = readKeptRecords(packed);
    const ack = batch.acks[index];
    if (!ack) return [];
    const acks = ackAfterEach(ack, records.length);
    return records.map((record, event) => ({ record, ack: acks[event] ?? ack }));
  });
}
