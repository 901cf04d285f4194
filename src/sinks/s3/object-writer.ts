import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { RetryConfig } from '../../config/schema.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../observability/logger.js';
import type { RelayMetrics } from '../../observability/metrics.js';
import { deadLetterEntry } from '../dead-letter-entry.js';
import { deliverWithRetry } from '../delivery-retry.js';
import type { DeadLetterSink } from '../sink.js';
import type { ObjectBatch } from './batch.js';
import { deterministicGzip } from './deterministic-gzip.js';
import { csvLine } from './event-encoder.js';

export interface ObjectWriterSettings {
  readonly sinkName: string;
  readonly bucket: string;
  readonly compression: 'gzip' | 'none';
  readonly retry: RetryConfig;
}

export interface ObjectWriterDeps {
  readonly s3: S3Client;
  readonly deadLetter: DeadLetterSink | null;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
}

/**
 * Writes one batch as one S3 object under a given key, with the sink's retry policy, and
 * acknowledges its events only once S3 confirmed it (or dead-letters them when the sink
 * gives up). The body is a pure function of the batch: the same events give the same bytes.
 */
export class S3ObjectWriter {
  constructor(
    private readonly settings: ObjectWriterSettings,
    private readonly deps: ObjectWriterDeps,
  ) {}

  async write(batch: ObjectBatch, key: string): Promise<void> {
    const { metrics, log } = this.deps;
    const labels = { sink: this.settings.sinkName };
    const stopTimer = metrics.sinkBatchDuration.startTimer(labels);
    const body = await this.body(batch);
    const outcome = await deliverWithRetry(() => this.upload(key, body, batch), {
      policy: this.settings.retry,
      mayGiveUp: this.deps.deadLetter !== null,
      onRetry: (error, attempt, delayMs) => {
        metrics.sinkRetries.inc(labels);
        log.warn({ key, attempt, delayMs, err: errorMessage(error) }, 'S3 upload failed; retrying');
      },
    });
    stopTimer();
    if (outcome.delivered) {
      metrics.sinkRecords.inc({ ...labels, outcome: 'delivered' }, batch.size);
      metrics.sinkBatches.inc({ ...labels, outcome: 'delivered' });
      metrics.sinkBytes.inc(labels, body.byteLength);
      for (const ack of batch.acks) ack.ack();
      return;
    }
    log.error(
      { key, records: batch.size, err: outcome.error },
      'S3 sink gave up on a batch; dead-lettering it',
    );
    this.deadLetterBatch(batch, outcome.error);
  }

  async body(batch: ObjectBatch): Promise<Buffer> {
    const parts = batch.shape
      ? [Buffer.from(csvLine(batch.shape.header)), ...batch.items]
      : batch.items;
    const plain = Buffer.concat(parts);
    return this.settings.compression === 'gzip' ? deterministicGzip(plain) : plain;
  }

  private async upload(key: string, body: Buffer, batch: ObjectBatch): Promise<void> {
    const contentType = batch.kind === 'csv' ? 'text/csv' : 'application/x-ndjson';
    await new Upload({
      client: this.deps.s3,
      params: {
        Bucket: this.settings.bucket,
        Key: key,
        Body: body,
        ContentType: this.settings.compression === 'gzip' ? 'application/gzip' : contentType,
      },
    }).done();
  }

  private deadLetterBatch(batch: ObjectBatch, error: string): void {
    const deadLetter = this.deps.deadLetter;
    if (!deadLetter) throw new Error('unreachable: gave up without a dead-letter sink');
    const sink = this.settings.sinkName;
    this.deps.metrics.sinkRecords.inc({ sink, outcome: 'dead_lettered' }, batch.size);
    this.deps.metrics.sinkBatches.inc({ sink, outcome: 'dead_lettered' });
    batch.records.forEach((record, index) => {
      const ack = batch.acks[index];
      if (ack) deadLetter.write(deadLetterEntry(record, 'sink_gave_up', error, sink), ack);
    });
  }
}
