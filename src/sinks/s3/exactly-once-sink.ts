import PQueue from 'p-queue';
import type { S3SinkConfig } from '../../config/schema.js';
import type { AckHandle } from '../../core/ack.js';
import type { RelayEvent } from '../../core/event.js';
import type { MemoryBudget } from '../../core/memory-budget.js';
import type { RecordPosition, UserRecord } from '../../core/record.js';
import { CapacityGate } from '../capacity-gate.js';
import type { PreEncodedEvent, Sink } from '../sink.js';
import type { ObjectBatch } from './batch.js';
import { objectConfigHash } from './config-fingerprint.js';
import { shapeOf, type EventEncoder } from './event-encoder.js';
import type { KeyLayout } from './key-layout.js';
import type { ObjectWriterDeps } from './object-writer.js';
import { S3ObjectWriter } from './object-writer.js';
import { SegmentRanges } from './segment-ranges.js';
import { idleCutDue, isFull, startsNewSegment, type SegmentLimits } from './segment-rules.js';
import { ShardSegment } from './shard-segment.js';
import { queueWrite } from '../queued-write.js';

export interface ExactlyOnceS3SinkDeps extends ObjectWriterDeps {
  readonly layout: KeyLayout;
  readonly encoder: EventEncoder;
  /** determinismFingerprint() of this sink's settings. */
  readonly fingerprint: string;
  readonly memory?: MemoryBudget;
  readonly now?: () => number;
}

/**
 * The S3 sink with `exactlyOnce: true`. Each shard has its own open segment, cut by
 * segment-rules (count, bytes, record time) only; each object of a segment is named after
 * its first record (shard, sequence, sub-sequence) and a hash of the settings, so a replay
 * from any checkpoint this sink allowed rewrites the same keys with the same bytes.
 * Incomplete segments are never cut by a flush or shutdown: they are read again.
 */
export class ExactlyOnceS3Sink implements Sink {
  readonly name: string;
  private readonly open = new Map<string, ShardSegment>();
  private readonly ranges = new SegmentRanges();
  private readonly uploads: PQueue;
  /** Counts cut objects only: open segments are bounded by buffer.maxBytes per shard. */
  private readonly gate: CapacityGate;
  private readonly writer: S3ObjectWriter;
  private readonly limits: SegmentLimits;
  private readonly hashes = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;
  private readonly tickMs: number;
  private lastTickMs: number;
  /** After the process stalled, idle flushes wait until the lease timers have run again. */
  private idleHeldUntilMs = 0;
  private readonly now: () => number;

  constructor(
    private readonly config: S3SinkConfig,
    private readonly deps: ExactlyOnceS3SinkDeps,
  ) {
    this.name = config.name;
    this.now = deps.now ?? Date.now;
    this.limits = config.buffer;
    this.uploads = new PQueue({ concurrency: config.uploadConcurrency });
    this.gate = CapacityGate.forSink(this.name, config.maxInFlightBytes, deps.metrics, deps.memory);
    this.writer = S3ObjectWriter.forSink(config, deps);
    this.tickMs = Math.min(1000, Math.max(50, Math.floor(config.idleFlushMs / 4)));
    this.lastTickMs = this.now();
    this.timer = setInterval(() => this.cutIdle(), this.tickMs);
    this.timer.unref();
  }

  write(event: RelayEvent, ack: AckHandle): void {
    const segment = this.segmentFor(event.record);
    const encoded = this.deps.encoder.encode(event);
    segment.add(this.deps.layout.directory(event, encoded.kind), encoded, event.record, ack);
    segment.lastWriteMs = this.now();
  }

  writeEncoded(encoded: PreEncodedEvent, record: UserRecord, ack: AckHandle): void {
    const segment = this.segmentFor(record);
    const shape = encoded.shapeId === null ? null : shapeOf(encoded.shapeId);
    segment.add(encoded.directory, { ...encoded, shape }, record, ack);
    segment.lastWriteMs = this.now();
  }

  /** The shard's open segment for this record, cut first if the record starts a new one. */
  private segmentFor(record: UserRecord): ShardSegment {
    let segment = this.open.get(record.shardId);
    if (
      segment &&
      !segment.holdsLast(record) &&
      startsNewSegment(segment, record.approximateArrivalTimestamp.getTime(), this.limits)
    ) {
      this.cut(record.shardId, segment);
      segment = undefined;
    }
    if (!segment) {
      const range = this.ranges.open(record.shardId, record);
      segment = new ShardSegment(record, range, this.now());
      this.open.set(record.shardId, segment);
    }
    return segment;
  }

  waitForCapacity(): Promise<void> | undefined {
    // Never cut open segments to make room: that would make boundaries depend on timing.
    return this.gate.full ? this.gate.waitForRoom() : undefined;
  }

  /** Waits for the objects already cut; incomplete segments stay for the next reader. */
  async flush(): Promise<void> {
    await this.uploads.onIdle();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  safeCheckpoint(shardId: string, candidate: RecordPosition): RecordPosition | null {
    return this.ranges.safeCheckpoint(shardId, candidate);
  }

  checkpointed(shardId: string, position: RecordPosition): void {
    this.ranges.checkpointed(shardId, position);
  }

  /** A closed shard has no later records: its last segment is complete as it stands. */
  endOfShard(shardId: string): void {
    const segment = this.open.get(shardId);
    if (segment) this.cut(shardId, segment);
  }

  /**
   * This worker stopped reading the shard. Its open segment is dropped unwritten (its
   * records were never acknowledged, so whoever reads the shard next reads them again);
   * writing it now would cut it short and could overwrite the next owner's complete object.
   */
  releaseShard(shardId: string): void {
    const segment = this.open.get(shardId);
    if (!segment) return;
    this.open.delete(shardId);
    this.ranges.discard(shardId, segment.range);
  }

  private cutIdle(): void {
    const nowMs = this.now();
    const graceMs = this.config.idleFlushMs;
    // A frozen process (GC, SIGSTOP, an overloaded node) may have lost leases without
    // knowing yet: give the lease renewer (period under failoverMs, which is at most half
    // of idleFlushMs) time to report them, so released shards are dropped, not flushed.
    if (nowMs - this.lastTickMs > 2 * this.tickMs + 1000)
      this.idleHeldUntilMs = nowMs + graceMs / 2;
    this.lastTickMs = nowMs;
    if (nowMs < this.idleHeldUntilMs) {
      for (const [shardId, segment] of this.open)
        if (isFull(segment, this.limits)) this.cut(shardId, segment);
      return;
    }
    for (const [shardId, segment] of this.open) {
      // While our own uploads hold the shards back, quiet does not mean caught up.
      if (this.gate.full && !isFull(segment, this.limits)) continue;
      if (idleCutDue(segment, this.limits, { nowMs, lastWriteMs: segment.lastWriteMs, graceMs }))
        this.cut(shardId, segment);
    }
  }

  private cut(shardId: string, segment: ShardSegment): void {
    this.open.delete(shardId);
    this.ranges.close(shardId, segment.range);
    for (const batch of segment.objects.values()) {
      this.gate.add(batch.held);
      void queueWrite(this.uploads, batch, (cut) => this.deliver(cut));
    }
  }

  private async deliver(batch: ObjectBatch): Promise<void> {
    try {
      await this.writer.write(batch, this.keyOf(batch));
    } finally {
      this.gate.remove(batch.held);
    }
  }

  private keyOf(batch: ObjectBatch): string {
    const first = batch.records[0];
    if (!first) throw new Error('unreachable: an object batch without records');
    const shapeKey = batch.shape?.id ?? '';
    let hash = this.hashes.get(shapeKey);
    if (!hash) {
      hash = objectConfigHash(this.deps.fingerprint, batch.shape?.header ?? null);
      this.hashes.set(shapeKey, hash);
    }
    const fileName = this.deps.layout.segmentFileName(
      first,
      hash,
      batch.kind,
      batch.shape?.id ?? null,
    );
    return `${batch.directory}${fileName}`;
  }
}
