import type { S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { S3SinkConfig } from '../../config/schema.js';
import type { CsvShape } from '../../core/csv-shape.js';
import type { AckHandle } from '../../core/ack.js';
import type { RelayEvent } from '../../core/event.js';
import type { MemoryBudget } from '../../core/memory-budget.js';
import type { UserRecord } from '../../core/record.js';
import type { Logger } from '../../observability/logger.js';
import type { RelayMetrics } from '../../observability/metrics.js';
import { Batcher } from '../batcher.js';
import type { DeadLetterSink, LineChunk, PreEncodedEvent, Sink } from '../sink.js';
import { ObjectBatch } from './batch.js';
import { csvLine, itemOf, shapeOf, type EncodedEvent, type EventEncoder } from './event-encoder.js';
import { gzipOptions, pinGzipOsByte } from './deterministic-gzip.js';
import { S3ObjectWriter } from './object-writer.js';
import type { KeyLayout, OutputKind } from './key-layout.js';

export interface S3SinkDeps {
  readonly s3: S3Client;
  readonly layout: KeyLayout;
  readonly encoder: EventEncoder;
  readonly deadLetter: DeadLetterSink | null;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  /** The process's memory budget, which this sink's in-flight bytes draw from. */
  readonly memory?: MemoryBudget;
  readonly now?: () => number;
}

/**
 * Buffers events into one batch per S3 object (directory x hour x CSV shape), cuts a
 * batch at maxRecords / maxBytes / maxAgeMs (the shared Batcher), and uploads it with
 * lib-storage (multipart for large objects). Events are acknowledged only after S3
 * confirmed the object.
 */
export class S3Sink implements Sink {
  readonly name: string;
  private readonly batcher: Batcher<ObjectBatch>;
  private readonly writer: S3ObjectWriter;
  /** Gzip objects are compressed as their lines arrive (see ObjectBatch). */
  private readonly compressAsItGoes: boolean;
  private readonly gzipLevel: number;
  private lastKey: {
    readonly kind: string;
    readonly shapeId: string;
    readonly hour: number;
    readonly directory: string;
    readonly key: string;
  } | null = null;

  constructor(
    config: S3SinkConfig,
    private readonly deps: S3SinkDeps,
  ) {
    this.name = config.name;
    this.writer = S3ObjectWriter.forSink(config, deps);
    this.compressAsItGoes = config.compression === 'gzip';
    this.gzipLevel = config.gzipLevel;
    this.batcher = new Batcher(
      {
        sink: config.name,
        buffer: config.buffer,
        maxInFlightBytes: config.maxInFlightBytes,
        concurrency: config.uploadConcurrency,
        metrics: deps.metrics,
        memory: deps.memory,
        now: deps.now,
      },
      (batch) => this.deliver(batch),
    );
  }

  write(event: RelayEvent, ack: AckHandle): void {
    const encoded = this.deps.encoder.encode(event);
    this.add(encoded, this.deps.layout.directory(event, encoded.kind), event.record, ack);
  }

  writeEncoded(encoded: PreEncodedEvent, record: UserRecord, ack: AckHandle): void {
    this.add(
      { ...encoded, shape: encoded.shapeId === null ? null : shapeOf(encoded.shapeId) },
      encoded.directory,
      record,
      ack,
    );
  }

  writeChunk(chunk: LineChunk, ack: AckHandle): void {
    // A batch that gives up writes a dead-letter entry per event, from the records the
    // chunk carries where the sink has a destination (chunkerSpec).
    if ((this.deps.deadLetter !== null) !== (chunk.records !== null))
      throw new Error('unreachable: a chunk without the records its dead-letter entries need');
    const shape = chunk.shapeId === null ? null : shapeOf(chunk.shapeId);
    const key = this.batchKey(chunk.kind, chunk.shapeId ?? '', chunk.arrivalHour, chunk.directory);
    this.batcher.makeRoom(key, chunk.events, chunk.bytes);
    const batch = this.openBatch(
      key,
      chunk.kind,
      shape,
      chunk.directory,
      new Date(chunk.firstArrivalMs),
    );
    const held = batch.addStoredChunk(chunk, ack, () => this.storedHeader(shape));
    this.batcher.added(key, batch, held);
  }

  private add(encoded: EncodedEvent, directory: string, record: UserRecord, ack: AckHandle): void {
    const arrival = record.approximateArrivalTimestamp;
    // One object never spans an hour of record time, whatever the directory template.
    const hour = Math.floor(arrival.getTime() / 3_600_000);
    const key = this.batchKey(encoded.kind, encoded.shape?.id ?? '', hour, directory);
    const batch = this.openBatch(key, encoded.kind, encoded.shape, directory, arrival);
    // Without a dead-letter destination no entry can need the record's bytes.
    const keepData = this.deps.deadLetter !== null;
    const held = batch.add(itemOf(encoded), encoded.bytes, record, ack, keepData);
    this.batcher.added(key, batch, held);
  }

  /** The header line as a chunk's lines are stored: a gzip member, or UTF-8 bytes. */
  private storedHeader(shape: CsvShape | null): Uint8Array {
    const header = Buffer.from(headerLine(shape));
    if (header.byteLength === 0 || !this.compressAsItGoes) return header;
    return pinGzipOsByte(gzipSync(header, gzipOptions(this.gzipLevel)));
  }

  /** The open batch under `key`, opened for an event that arrived at `arrival` if none is. */
  private openBatch(
    key: string,
    kind: OutputKind,
    shape: CsvShape | null,
    directory: string,
    arrival: Date,
  ): ObjectBatch {
    return this.batcher.batchFor(
      key,
      (openedAt) =>
        new ObjectBatch(
          directory,
          kind,
          shape,
          arrival,
          openedAt,
          this.compressAsItGoes ? headerLine(shape) : null,
          this.gzipLevel,
        ),
    );
  }

  /**
   * The open batch's key: consecutive events almost always share it (one shard's page,
   * one directory string per second), so the last one is reused instead of building and
   * hashing a new string per event.
   */
  private batchKey(kind: string, shapeId: string, hour: number, directory: string): string {
    const last = this.lastKey;
    if (
      last !== null &&
      last.kind === kind &&
      last.shapeId === shapeId &&
      last.hour === hour &&
      last.directory === directory
    ) {
      return last.key;
    }
    const key = `${kind}|${shapeId}|${hour}|${directory}`;
    this.lastKey = { kind, shapeId, hour, directory, key };
    return key;
  }

  waitForCapacity(): Promise<void> | undefined {
    return this.batcher.waitForCapacity();
  }

  flush(): Promise<void> {
    return this.batcher.flush();
  }

  cutOpenBatches(): void {
    this.batcher.cutOpen();
  }

  close(): Promise<void> {
    return this.batcher.close();
  }

  private async deliver(batch: ObjectBatch): Promise<void> {
    // Objects of one directory whose first records arrived in the same second differ only
    // in this id, and a PUT to a taken key replaces an object already acknowledged: 64
    // random bits (32 met a same-name pair about once a year at 20 objects a second).
    const key = `${batch.directory}${this.deps.layout.fileName(
      batch.firstArrival,
      randomBytes(8).toString('hex'),
      batch.kind,
      batch.shape?.id ?? null,
    )}`;
    await this.writer.write(batch, key);
  }
}

/** The first line of a text object: the CSV header, none for JSON Lines. */
function headerLine(shape: CsvShape | null): string {
  return shape ? csvLine(shape.header) : '';
}
