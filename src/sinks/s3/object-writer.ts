import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { RetryConfig, S3SinkConfig } from '../../config/schema.js';
import { releaseNow } from '../../core/release-now.js';
import type { Logger } from '../../observability/logger.js';
import type { RelayMetrics } from '../../observability/metrics.js';
import { deliverBatch, type BatchDeliveryContext } from '../batch-delivery.js';
import type { DeadLetterSink } from '../sink.js';
import type { ObjectBatch } from './batch.js';
import { deterministicGzip } from './deterministic-gzip.js';
import { csvLine } from './event-encoder.js';
import { parquetBody, type ParquetSettings } from './parquet/parquet-body.js';
import { withCallDeadlines } from './s3-call-deadline.js';
import { zstdCompress } from './zstd.js';

export interface ObjectWriterSettings {
  readonly sinkName: string;
  readonly bucket: string;
  /** Of text objects; Parquet objects use `parquet.compression` inside the file. */
  readonly compression: 'gzip' | 'zstd' | 'none';
  /** zlib level of gzip text objects (the sink's `gzipLevel`; 6 when absent). */
  readonly gzipLevel?: number;
  readonly parquet: ParquetSettings;
  readonly retry: RetryConfig;
  /** Of each S3 call, plus its body's share (s3-call-deadline.ts). */
  readonly callTimeoutMs: number;
}

const CONTENT_TYPES = {
  csv: 'text/csv',
  json: 'application/x-ndjson',
  parquet: 'application/vnd.apache.parquet',
} as const;

export interface ObjectWriterDeps {
  readonly s3: S3Client;
  readonly deadLetter: DeadLetterSink | null;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
}

/**
 * Writes one batch as one S3 object under a given key (lib-storage: multipart for large
 * objects), through the acknowledgement rule every sink shares (`deliverBatch`): retried
 * per the sink's policy, acknowledged once S3 confirmed it, dead-lettered when the sink
 * gives up. The body is a pure function of the batch: the same events give the same bytes
 * (gzip without a time stamp), which exactly-once objects rely on.
 */
export class S3ObjectWriter {
  private readonly delivery: BatchDeliveryContext;
  /** The client whose every call has a deadline: a call that trickles fails and is retried. */
  private readonly s3: S3Client;

  constructor(
    private readonly settings: ObjectWriterSettings,
    private readonly deps: ObjectWriterDeps,
  ) {
    this.delivery = { sink: settings.sinkName, retry: settings.retry, ...deps };
    this.s3 = withCallDeadlines(deps.s3, settings.callTimeoutMs);
  }

  /** The writer for an S3 sink's config (both the batching and the exactly-once sink). */
  static forSink(config: S3SinkConfig, deps: ObjectWriterDeps): S3ObjectWriter {
    const {
      name: sinkName,
      bucket,
      compression,
      gzipLevel,
      parquet,
      retry,
      callTimeoutMs,
    } = config;
    return new S3ObjectWriter(
      { sinkName, bucket, compression, gzipLevel, parquet, retry, callTimeoutMs },
      deps,
    );
  }

  async write(batch: ObjectBatch, key: string): Promise<void> {
    const stopTimer = this.deps.metrics.sinkBatchDuration.startTimer({
      sink: this.settings.sinkName,
    });
    const body = await this.body(batch);
    let uploaded = false;
    await deliverBatch(this.delivery, batch, { key }, async () => {
      await this.upload(key, body, batch);
      uploaded = true;
      return body.byteLength;
    });
    if (uploaded) {
      // Stored: the object's bytes are freed now rather than at a full collection of the
      // main thread, which allocates too little between them when threads encode (see
      // releaseNow). Only after a completed upload: a call given up on may still be sending.
      releaseNow(body);
      batch.releaseStoredBytes();
    }
    stopTimer();
  }

  async body(batch: ObjectBatch): Promise<Buffer> {
    if (batch.kind === 'parquet') {
      if (!batch.shape) throw new Error('unreachable: a Parquet object without columns');
      return parquetBody(batch.shape, parquetRows(batch), this.settings.parquet);
    }
    // Gzipped as its lines arrived (the batching sink's gzip objects), or built now.
    const streamed = await batch.streamedBody();
    if (streamed) return streamed;
    const plain = plainBody(batch);
    switch (this.settings.compression) {
      case 'gzip':
        return deterministicGzip(plain, this.settings.gzipLevel);
      case 'zstd':
        return zstdCompress(plain);
      case 'none':
        return plain;
    }
  }

  private async upload(key: string, body: Buffer, batch: ObjectBatch): Promise<void> {
    const contentType = CONTENT_TYPES[batch.kind];
    const encoding =
      batch.kind === 'parquet' ? undefined : TEXT_ENCODINGS[this.settings.compression];
    await new Upload({
      client: this.s3,
      params: {
        Bucket: this.settings.bucket,
        Key: key,
        Body: body,
        ContentType: encoding ?? contentType,
      },
    }).done();
  }
}

const TEXT_ENCODINGS = { gzip: 'application/gzip', zstd: 'application/zstd', none: undefined };

/** The rows of a Parquet batch (every item of one is a row). */
function parquetRows(batch: ObjectBatch): (readonly string[])[] {
  return batch.items.map((item) => {
    if (typeof item === 'string') throw new Error('unreachable: a text line in a Parquet object');
    return item;
  });
}

/** The header (CSV) and every line, written once into one buffer of the exact size. */
export function plainBody(batch: ObjectBatch): Buffer {
  const header = batch.shape ? csvLine(batch.shape.header) : '';
  const headerBytes = Buffer.byteLength(header);
  const body = Buffer.allocUnsafe(headerBytes + batch.bytes);
  let offset = body.write(header, 0);
  for (const line of batch.items) {
    if (typeof line !== 'string') throw new Error('unreachable: a Parquet row in a text object');
    offset += body.write(line, offset);
  }
  // batch.bytes is the sum of Buffer.byteLength of the lines; a short body would be a bug.
  if (offset !== body.byteLength) throw new Error('object body length mismatch');
  return body;
}
