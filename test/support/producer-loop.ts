import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { putAll, type PutResult } from '../../src/demo/producer.js';
import { numberedRecord } from './records.js';

/** Where a numbered record went. */
export interface PutRecordInfo extends PutResult {
  readonly n: number;
  readonly partitionKey: string;
}

/**
 * Puts numbered records in batches while a test does other things, until stopped. Within
 * one partition key, numbers grow with put order: each batch holds a key at most once and
 * waits for the previous batch, so put order per key is unambiguous.
 */
export class ProducerLoop {
  readonly put: PutRecordInfo[] = [];
  private next = 0;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KinesisClient,
    private readonly stream: string,
    private readonly batchSize = 100,
    private readonly pauseMs = 100,
  ) {}

  start(): this {
    this.running = this.loop();
    return this;
  }

  async stop(): Promise<PutRecordInfo[]> {
    this.stopped = true;
    await this.running;
    return this.put;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const records = Array.from({ length: this.batchSize }, (_, i) =>
        numberedRecord(this.next + i),
      );
      const results = await putAll(this.client, this.stream, records);
      results.forEach((result, i) => {
        const record = records[i];
        if (record)
          this.put.push({ ...result, n: this.next + i, partitionKey: record.partitionKey });
      });
      this.next += this.batchSize;
      await new Promise((resolve) => setTimeout(resolve, this.pauseMs));
    }
  }
}
