import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { putAll } from '../../../src/demo/producer.js';
import { numberedRecord } from '../../support/records.js';

/** One put record: where it went and when PutRecords answered. */
export interface TimedPut {
  readonly n: number;
  readonly partitionKey: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly at: number;
}

/**
 * Puts numbered records at about `perSecond` in batches of `batchSize` until stopped,
 * recording each record's shard, sequence number and put time (for the duplicate bound).
 * A batch holds a partition key at most once and waits for the previous one, so put order
 * per key is unambiguous.
 */
export class RateProducer {
  readonly put: TimedPut[] = [];
  private next = 0;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly client: KinesisClient,
    private readonly stream: string,
    private readonly perSecond: number,
    private readonly batchSize = Math.max(1, Math.min(500, Math.round(perSecond / 5))),
  ) {}

  start(): this {
    this.running = this.loop().catch((error: unknown) => {
      this.failure = error;
    });
    return this;
  }

  async stop(): Promise<TimedPut[]> {
    this.stopped = true;
    await this.running;
    if (this.failure) throw this.failure;
    return this.put;
  }

  private async loop(): Promise<void> {
    const startedAt = Date.now();
    while (!this.stopped) {
      const records = Array.from({ length: this.batchSize }, (_, i) =>
        numberedRecord(this.next + i),
      );
      const results = await putAll(this.client, this.stream, records);
      const at = Date.now();
      results.forEach((result, i) => {
        const record = records[i];
        if (record)
          this.put.push({
            n: this.next + i,
            partitionKey: record.partitionKey,
            shardId: result.shardId,
            sequenceNumber: result.sequenceNumber,
            at,
          });
      });
      this.next += this.batchSize;
      // Pace to the rate: the next batch is due when the records so far are due.
      const dueAt = startedAt + (this.next / this.perSecond) * 1000;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - Date.now())));
    }
  }
}
