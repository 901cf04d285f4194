import { decoderOptions } from './app-pipeline.js';
import type { StreamRuntime } from './app-streams.js';
import type { RelayConfig } from './config/schema.js';
import { errorMessage } from './core/errors.js';
import type { ReadPermits } from './core/read-permits.js';
import { withinMs } from './core/within-ms.js';
import { createDecoder } from './decode/index.js';
import { ShardConsumer } from './kinesis/shard-consumer.js';
import type { Lease } from './leases/lease.js';
import type { LeaseCoordinator } from './leases/lease-coordinator.js';
import type { LeaseListener } from './leases/lease-listener.js';
import { handoffDrainMs } from './leases/own-leases.js';
import type { LeaseRenewer } from './leases/lease-renewer.js';
import { ReadPause } from './leases/read-pause.js';
import type { LeasedShard } from './leases/stream-scopes.js';
import type { Logger } from './observability/logger.js';
import { forgetShard, sinkDeadLetterCounter, type RelayMetrics } from './observability/metrics.js';
import type { Router } from './pipeline/router.js';
import { ShardPipeline } from './pipeline/shard-pipeline.js';
import type { DecodePool } from './pipeline/workers/decode-pool.js';
import type { DeadLetterSink } from './sinks/sink.js';

interface RunningShard {
  readonly consumer: ShardConsumer;
  /** Closed while the shard's lease is paused (not renewed in time) or handed over. */
  readonly reads: ReadPause;
  readonly pipeline: ShardPipeline;
  handingOver: boolean;
  readonly done: Promise<void>;
}

/** What the shard loops are built from: the relay's parts they share. */
export interface RunningShardsParts {
  readonly config: RelayConfig;
  readonly log: Logger;
  /** The configured streams by name (as configured: a name or an ARN). */
  readonly streams: ReadonlyMap<string, StreamRuntime>;
  readonly readPermits: ReadPermits;
  readonly router: Router;
  readonly deadLetter: DeadLetterSink;
  /** Null: pages are decoded and encoded on the main thread (consumer.workerThreads). */
  readonly decodePool: DecodePool | null;
  readonly renewer: LeaseRenewer;
  readonly coordinator: LeaseCoordinator;
  readonly metrics: RelayMetrics;
  /** True once the relay is stopping: no shard starts, and the shutdown owns the rest. */
  readonly isStopping: () => boolean;
}

/**
 * The shards this worker consumes: one shard loop and pipeline per held lease, started,
 * paused, handed over and stopped as the lease coordinator says (its listener).
 */
export class RunningShards implements LeaseListener {
  /** By lease key: the shard id, or `<streamIdentifier>:<shardId>` with several streams. */
  private readonly shards = new Map<string, RunningShard>();

  constructor(private readonly parts: RunningShardsParts) {}

  private get stopping(): boolean {
    return this.parts.isStopping();
  }

  /** Shards this worker is consuming now (by lease key). */
  leaseKeys(): string[] {
    return [...this.shards.keys()];
  }

  get size(): number {
    return this.shards.size;
  }

  acquired(lease: Lease, shard: LeasedShard): void {
    this.startShard(lease, shard);
  }

  lost(shardId: string): void {
    this.shards.get(shardId)?.consumer.loseLease();
  }

  paused(shardId: string): void {
    this.shards.get(shardId)?.reads.pause();
  }

  resumed(shardId: string): void {
    const shard = this.shards.get(shardId);
    if (shard && !shard.handingOver) shard.reads.resume();
  }

  handoff(shardId: string): void {
    void this.handOver(shardId);
  }

  /** Stops every shard loop (no more reads) and waits until each has ended. */
  async stopAll(): Promise<void> {
    for (const { consumer } of this.shards.values()) consumer.stop();
    await Promise.all([...this.shards.values()].map((shard) => shard.done));
  }

  /** Writes each shard's checkpoint: what its sinks have acknowledged. */
  async checkpointAll(): Promise<void> {
    await Promise.all(
      [...this.shards.values()].map(({ consumer }) => consumer.checkpointProgress()),
    );
  }

  /**
   * A graceful handoff (another replica asked for this lease to balance): stop reading,
   * let what is in flight be delivered (within the handoff timeout, after which the asking
   * replica takes the lease outright), checkpoint it, and hand the lease over; the next
   * owner starts at that checkpoint, so nothing is delivered twice.
   */
  private async handOver(shardId: string): Promise<void> {
    const { renewer, coordinator } = this.parts;
    const shard = this.shards.get(shardId);
    // On shutdown the release at the end completes the handoff.
    if (this.stopping || shard?.handingOver) return;
    if (!shard) {
      // Nothing reads it (its loop ended): hand it over at once.
      await renewer.release(shardId).catch(() => undefined);
      return;
    }
    shard.handingOver = true;
    const log = this.parts.log.child({ shardId });
    shard.reads.pause();
    const budgetMs = handoffDrainMs(this.parts.config.leases.failoverMs);
    let drained = false;
    await withinMs(
      shard.pipeline.drained().then(() => {
        drained = true;
      }),
      budgetMs,
    );
    if (!drained) log.warn({ budgetMs }, 'in-flight records not delivered in time for the handoff');
    await shard.consumer.checkpointProgress();
    log.info({ checkpoint: shard.pipeline.checkpointable() }, 'handing the lease over');
    try {
      await renewer.release(shardId);
    } catch (error) {
      log.warn({ err: errorMessage(error) }, 'handing the lease over failed');
    }
    // Stop without another write: whatever was not acknowledged is read by the next owner.
    shard.consumer.loseLease();
    coordinator.updateOwnedGauge();
  }

  private startShard(lease: Lease, shard: LeasedShard): void {
    if (this.stopping) return;
    const leaseKey = lease.leaseKey;
    const previous = this.shards.get(leaseKey);
    if (previous) {
      // We lost this lease and took it back before its old loop wound down: the new loop
      // starts once the old one has stopped, so one shard never has two readers.
      previous.consumer.loseLease();
      void previous.done.then(() => this.startShard(lease, shard));
      return;
    }
    const { config, renewer, coordinator, metrics } = this.parts;
    const stream = this.parts.streams.get(shard.stream);
    if (!stream) return; // the coordinator only hands out leases of configured streams
    const { shardId } = shard;
    const log = this.parts.log.child(
      config.streams ? { stream: stream.config.name, shardId } : { shardId },
    );
    const reads = new ReadPause(this.parts.readPermits);
    const pipeline = new ShardPipeline(
      createDecoder(config.decode.format, decoderOptions(config)),
      this.parts.router,
      this.parts.deadLetter,
      this.parts.decodePool,
      sinkDeadLetterCounter(metrics),
    );
    const consumer = new ShardConsumer({
      api: stream.api,
      shardId,
      leaseKey,
      startFrom: lease.checkpoint,
      processor: pipeline,
      checkpoints: {
        write: (_shardId, checkpoint) => renewer.checkpoint(leaseKey, checkpoint),
      },
      waitForParents: (signal) => coordinator.waitForParents(lease, signal),
      options: {
        maxRecordsPerCall: config.consumer.maxRecordsPerCall,
        idleTimeBetweenReadsMs: config.consumer.idleTimeBetweenReadsMs,
        minCallIntervalMs: config.consumer.minCallIntervalMs,
        checkpointIntervalMs: config.checkpoint.intervalMs,
        initialTimestamp: timestampOf(lease.checkpointTimestamp ?? stream.config.initialTimestamp),
      },
      log,
      metrics,
      readPermits: reads,
      source: stream.fanout?.reader,
    });
    const done = consumer
      .run()
      .then((outcome) => {
        log.info({ outcome }, 'shard consumer ended');
        if (outcome === 'shard-end') {
          // The row keeps SHARD_END; stop renewing it and look for its children now.
          renewer.forget(leaseKey);
          coordinator.updateOwnedGauge();
          if (!this.stopping)
            void coordinator
              .syncShards()
              .then(() => coordinator.takePass())
              .catch(() => undefined);
        }
        if (outcome !== 'stopped') forgetShard(metrics, stream.api.stream, shardId, leaseKey);
      })
      .catch(async (error: unknown) => {
        log.error({ err: errorMessage(error) }, 'shard consumer failed; releasing its lease');
        forgetShard(metrics, stream.api.stream, shardId, leaseKey);
        await coordinator.release(leaseKey).catch(() => undefined);
      })
      .finally(() => {
        if (!this.stopping) this.shards.delete(leaseKey);
      });
    this.shards.set(leaseKey, { consumer, reads, pipeline, handingOver: false, done });
  }
}

function timestampOf(iso: string | null | undefined): Date | null {
  return iso ? new Date(iso) : null;
}
