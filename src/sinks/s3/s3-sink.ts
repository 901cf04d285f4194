import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import PQueue from 'p-queue';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { S3SinkConfig } from '../../config/schema.js';
import type { AckHandle } from '../../core/ack.js';
import { errorMessage } from '../../core/errors.js';
import type { RelayEvent } from '../../core/event.js';
import type { Logger } from '../../observability/logger.js';
import { zeroSinkSeries, type RelayMetrics } from '../../observability/metrics.js';
import { CapacityGate } from '../capacity-gate.js';
import { deadLetterEntry } from '../dead-letter-entry.js';
import { deliverWithRetry } from '../delivery-retry.js';
import type { DeadLetterSink, Sink } from '../sink.js';
import { ObjectBatch } from './batch.js';
import { csvLine, type EventEncoder } from './event-encoder.js';
import type { KeyLayout } from './key-layout.js';

const gzipAsync = promisify(gzip);

export interface S3SinkDeps {
  readonly s3: S3Client;
  readonly layout: KeyLayout;
  readonly encoder: EventEncoder;
  readonly deadLetter: DeadLetterSink | null;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  readonly now?: () => number;
}

/**
 * Buffers events into one batch per S3 object (directory x hour x CSV shape), cuts a
 * batch at maxRecords / maxBytes / maxAgeMs, and uploads it with lib-storage (multipart
 * for large objects). Events are acknowledged only after S3 confirmed the object.
 */
export class S3Sink implements Sink {
  readonly name: string;
  private readonly open = new Map<string, ObjectBatch>();
  private readonly uploads: PQueue;
  private readonly gate: CapacityGate;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(
    private readonly config: S3SinkConfig,
    private readonly deps: S3SinkDeps,
  ) {
    this.name = config.name;
    this.now = deps.now ?? Date.now;
    this.uploads = new PQueue({ concurrency: config.uploadConcurrency });
    this.gate = new CapacityGate(config.maxInFlightBytes, (bytes) =>
      deps.metrics.sinkInflightBytes.set({ sink: this.name }, bytes),
    );
    zeroSinkSeries(deps.metrics, this.name);
    const tick = Math.min(1000, Math.max(50, Math.floor(config.buffer.maxAgeMs / 4)));
    this.timer = setInterval(() => this.cutAged(), tick);
    this.timer.unref();
  }

  write(event: RelayEvent, ack: AckHandle): void {
    const encoded = this.deps.encoder.encode(event);
    const directory = this.deps.layout.directory(event, encoded.kind);
    const arrival = event.record.approximateArrivalTimestamp;
    // One object never spans an hour of record time, whatever the directory template.
    const hour = Math.floor(arrival.getTime() / 3_600_000);
    const key = `${encoded.kind}|${encoded.shape?.id ?? ''}|${hour}|${directory}`;
    let batch = this.open.get(key);
    if (!batch) {
      batch = new ObjectBatch(directory, encoded.kind, encoded.shape, arrival, this.now());
      this.open.set(key, batch);
    }
    batch.add(encoded.line, event.record, ack);
    this.gate.add(encoded.line.byteLength);
    const { maxRecords, maxBytes } = this.config.buffer;
    if (batch.size >= maxRecords || batch.bytes >= maxBytes) this.cut(key, batch);
  }

  waitForCapacity(): Promise<void> | undefined {
    if (!this.gate.full) return undefined;
    // Over the bound: everything buffered must go out for the bound to come back down.
    this.cutAll();
    return this.gate.waitForRoom();
  }

  async flush(): Promise<void> {
    this.cutAll();
    await this.uploads.onIdle();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private cutAged(): void {
    const oldest = this.now() - this.config.buffer.maxAgeMs;
    for (const [key, batch] of this.open) if (batch.openedAt <= oldest) this.cut(key, batch);
  }

  private cutAll(): void {
    for (const [key, batch] of this.open) this.cut(key, batch);
  }

  private cut(key: string, batch: ObjectBatch): void {
    this.open.delete(key);
    void this.uploads.add(() => this.deliver(batch));
  }

  private async deliver(batch: ObjectBatch): Promise<void> {
    const { metrics, log } = this.deps;
    const labels = { sink: this.name };
    const stopTimer = metrics.sinkBatchDuration.startTimer(labels);
    const body = await this.body(batch);
    const key = `${batch.directory}${this.deps.layout.fileName(
      batch.firstArrival,
      randomBytes(4).toString('hex'),
      batch.kind,
      batch.shape?.id ?? null,
    )}`;
    const outcome = await deliverWithRetry(() => this.upload(key, body, batch), {
      policy: this.config.retry,
      mayGiveUp: this.deps.deadLetter !== null,
      onRetry: (error, attempt, delayMs) => {
        metrics.sinkRetries.inc(labels);
        log.warn(
          { sink: this.name, key, attempt, delayMs, err: errorMessage(error) },
          'S3 upload failed; retrying',
        );
      },
    });
    stopTimer();
    if (outcome.delivered) {
      metrics.sinkRecords.inc({ ...labels, outcome: 'delivered' }, batch.size);
      metrics.sinkBatches.inc({ ...labels, outcome: 'delivered' });
      metrics.sinkBytes.inc(labels, body.byteLength);
      for (const ack of batch.acks) ack.ack();
    } else {
      log.error(
        { sink: this.name, key, records: batch.size, err: outcome.error },
        'S3 sink gave up on a batch; dead-lettering it',
      );
      this.deadLetterBatch(batch, outcome.error);
    }
    this.gate.remove(batch.bytes);
  }

  private async body(batch: ObjectBatch): Promise<Buffer> {
    const parts = batch.shape
      ? [Buffer.from(csvLine(batch.shape.header)), ...batch.lines]
      : batch.lines;
    const plain = Buffer.concat(parts);
    return this.config.compression === 'gzip' ? gzipAsync(plain) : plain;
  }

  private async upload(key: string, body: Buffer, batch: ObjectBatch): Promise<void> {
    const contentType = batch.kind === 'csv' ? 'text/csv' : 'application/x-ndjson';
    await new Upload({
      client: this.deps.s3,
      params: {
        Bucket: this.config.bucket,
        Key: key,
        Body: body,
        ContentType: this.config.compression === 'gzip' ? 'application/gzip' : contentType,
      },
    }).done();
  }

  private deadLetterBatch(batch: ObjectBatch, error: string): void {
    const deadLetter = this.deps.deadLetter;
    if (!deadLetter) throw new Error('unreachable: gave up without a dead-letter sink');
    this.deps.metrics.sinkRecords.inc({ sink: this.name, outcome: 'dead_lettered' }, batch.size);
    this.deps.metrics.sinkBatches.inc({ sink: this.name, outcome: 'dead_lettered' });
    batch.records.forEach((record, index) => {
      const ack = batch.acks[index];
      if (ack) deadLetter.write(deadLetterEntry(record, 'sink_gave_up', error, this.name), ack);
    });
  }
}
