import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import {
  configuredStreams,
  isS3Sink,
  type RelayConfig,
  type StreamConfig,
} from './config/schema.js';
import { monotonicNow } from './core/clock.js';
import { errorMessage } from './core/errors.js';
import { processMemoryBudget } from './core/memory-budget.js';
import { ReadPermits } from './core/read-permits.js';
import { createDecoder, csvShapeFor } from './decode/index.js';
import {
  createAwsClients,
  createKinesisClient,
  destroyAwsClients,
  type AwsClients,
} from './kinesis/clients.js';
import { ShardConsumer } from './kinesis/shard-consumer.js';
import { createFanoutSource, type FanoutSource } from './kinesis/fanout/fanout-source.js';
import { KinesisStreamApi } from './kinesis/stream-api.js';
import { streamCredentials } from './kinesis/stream-credentials.js';
import type { Lease } from './leases/lease.js';
import { LeaseCoordinator } from './leases/lease-coordinator.js';
import { handoffDrainMs } from './leases/own-leases.js';
import { LeaseRenewer } from './leases/lease-renewer.js';
import { LeaseStore } from './leases/lease-store.js';
import { ReadPause } from './leases/read-pause.js';
import { chooseStreamIdentifier, parseStreamArn } from './leases/stream-identifier.js';
import type { LeaseStream, LeasedShard } from './leases/stream-scopes.js';
import { startHttpServer } from './observability/http-server.js';
import type { Logger } from './observability/logger.js';
import { relayVersion } from './observability/build-info.js';
import { createMetrics, forgetShard, type RelayMetrics } from './observability/metrics.js';
import { evaluateReadiness } from './observability/readiness.js';
import { Router } from './pipeline/router.js';
import { ShardPipeline } from './pipeline/shard-pipeline.js';
import { DecodePool, workerThreadCount } from './pipeline/workers/decode-pool.js';
import { decodeWorkerSpec } from './pipeline/workers/worker-spec.js';
import { createSinks, type SinkSet } from './sinks/create-sinks.js';

export interface RelayOptions {
  readonly log: Logger;
  readonly env?: NodeJS.ProcessEnv;
  readonly clients?: AwsClients;
}

/** One configured stream: its Kinesis calls (under its own role, if it has one). */
interface StreamRuntime {
  readonly config: StreamConfig;
  readonly api: KinesisStreamApi;
  /** Null: GetRecords polling (config consumer.mode). */
  readonly fanout: FanoutSource | null;
  /** A client of its own (a stream read under its own role), closed with the relay. */
  readonly ownClient: KinesisClient | null;
}

interface RunningShard {
  readonly consumer: ShardConsumer;
  /** Closed while the shard's lease is paused (not renewed in time) or handed over. */
  readonly reads: ReadPause;
  readonly pipeline: ShardPipeline;
  handingOver: boolean;
  readonly done: Promise<void>;
}

const CLOSE_GRACE_MS = 2000;
/** How long a stopping replica watches the workers it gave leases take them. */
const RELEASE_CONFIRM_INTERVALS = 4;

function withinMs(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** A unique id per process (pod name + random suffix), unless the config fixes one. */
export function defaultWorkerId(): string {
  return `${hostname()}-${randomBytes(4).toString('hex')}`;
}

/** Wires the parts: the only place that reads the whole config. */
export class Relay {
  readonly workerId: string;
  readonly metrics: RelayMetrics;
  private readonly clients: AwsClients;
  /** The configured streams by name (as configured: a name or an ARN). */
  private readonly streams = new Map<string, StreamRuntime>();
  private readonly store: LeaseStore;
  private readonly renewer: LeaseRenewer;
  private readonly coordinator: LeaseCoordinator;
  private readonly sinkSet: SinkSet;
  private readonly router: Router;
  /** Null: pages are decoded and encoded on the main thread (consumer.workerThreads). */
  private readonly decodePool: DecodePool | null;
  /** By lease key: the shard id, or `<streamIdentifier>:<shardId>` with several streams. */
  private readonly shards = new Map<string, RunningShard>();
  private readonly readPermits: ReadPermits;
  /** Also the claim interval. */
  private readonly renewIntervalMs: number;
  private server: Server | undefined;
  private stopping = false;
  httpPort = 0;

  constructor(
    private readonly config: RelayConfig,
    private readonly options: RelayOptions,
  ) {
    const { log } = options;
    this.workerId = config.leases.workerId ?? defaultWorkerId();
    this.metrics = createMetrics();
    const memory = processMemoryBudget(config.memory.limitBytes, this.metrics);
    this.readPermits = new ReadPermits(
      config.consumer.maxConcurrentReads,
      memory,
      config.sinks.length,
    );
    this.metrics.buildInfo.set({ version: relayVersion(), node_version: process.version }, 1);
    this.clients =
      options.clients ??
      createAwsClients({
        region: config.aws.region,
        idleTimeoutMs: config.aws.idleTimeoutMs,
        env: options.env,
      });
    for (const stream of configuredStreams(config))
      this.streams.set(stream.name, this.streamRuntime(stream));
    const failoverMs = config.leases.failoverMs;
    const renewIntervalMs = config.leases.renewIntervalMs ?? Math.floor(failoverMs / 3);
    this.renewIntervalMs = renewIntervalMs;
    // Every lease call, retries included, ends within a renew interval: a hung DynamoDB
    // connection costs one renewal, and a failed renewal is retried well before failover.
    this.store = new LeaseStore(this.clients.dynamo, config.leases.table ?? config.application, {
      callTimeoutMs: renewIntervalMs,
    });
    // An exactly-once S3 sink must drop a shard's open segment before another worker
    // could own the shard (its idle flush would race the new owner's object): no pause.
    const exactlyOnce = config.sinks.some((sink) => isS3Sink(sink) && sink.exactlyOnce);
    this.renewer = new LeaseRenewer(
      this.store,
      {
        workerId: this.workerId,
        failoverMs,
        renewIntervalMs,
        maxPauseMs: exactlyOnce ? 0 : Number.POSITIVE_INFINITY,
      },
      log.child({ component: 'lease-renewer' }),
    );
    this.coordinator = new LeaseCoordinator(
      this.store,
      this.renewer,
      {
        workerId: this.workerId,
        streams: [...this.streams.values()].map((stream) => this.leaseStream(stream)),
        failoverMs,
        takeIntervalMs: config.leases.takeIntervalMs ?? failoverMs * 2,
        claimIntervalMs: renewIntervalMs,
        shardSyncIntervalMs: config.leases.shardSyncIntervalMs,
        maxLeasesPerWorker: config.leases.maxLeasesPerWorker,
      },
      {
        acquired: (lease, shard) => this.startShard(lease, shard),
        lost: (shardId) => this.shards.get(shardId)?.consumer.loseLease(),
        paused: (shardId) => this.shards.get(shardId)?.reads.pause(),
        resumed: (shardId) => {
          const shard = this.shards.get(shardId);
          if (shard && !shard.handingOver) shard.reads.resume();
        },
        handoff: (shardId) => void this.handOver(shardId),
      },
      log.child({ component: 'leases' }),
      this.metrics,
    );
    this.sinkSet = createSinks(config, {
      s3: this.clients.s3,
      csvShapeFor,
      metrics: this.metrics,
      log,
      memory,
    });
    this.router = new Router(
      this.sinkSet.sinks.map(({ sink, config: sinkConfig }) => ({
        sink,
        eventTypes: sinkConfig.filter.eventTypes,
        formats: sinkConfig.filter.formats,
        streams: sinkConfig.filter.streams,
      })),
    );
    this.decodePool = this.startDecodePool();
  }

  /**
   * The worker threads, when configured and some sink's encoding can move there. Their
   * spec lists the sinks in the router's order: the workers answer per sink by index.
   */
  private startDecodePool(): DecodePool | null {
    const { config, options } = this;
    const threads = workerThreadCount(
      config.consumer.workerThreads,
      config.consumer.maxConcurrentReads,
    );
    if (threads === 0) return null;
    const spec = decodeWorkerSpec(
      config.decode.format,
      this.sinkSet.sinks.map((sink) => sink.config),
    );
    if (!spec) {
      options.log.info(
        { workerThreads: threads },
        'no sink encodes on worker threads (S3 CSV and JSON Lines and webhooks do): decoding on the main thread',
      );
      return null;
    }
    options.log.info({ workerThreads: threads }, 'decoding and encoding on worker threads');
    return new DecodePool({ threads, spec, log: options.log.child({ component: 'decode-pool' }) });
  }

  async start(): Promise<void> {
    const { config, options } = this;
    const http = await startHttpServer(
      this.metrics.registry,
      {
        readiness: () =>
          evaluateReadiness({
            leasesSynced: this.coordinator.ready,
            lastReads: this.metrics.readTimes,
            sinkProgress: this.metrics.sinkProgress,
            ownedShards: this.ownedShards(),
            stallAfterMs: config.metrics.stallAfterMs,
            now: Date.now(),
          }),
      },
      config.metrics.port,
      config.metrics.host,
    );
    this.server = http.server;
    this.httpPort = http.port;
    options.log.info(
      {
        workerId: this.workerId,
        stream: [...this.streams.keys()].join(', '),
        table: this.store.tableName,
        metricsPort: this.httpPort,
      },
      'kinesis-relay starting',
    );
    await this.coordinator.start();
  }

  /**
   * A stream's Kinesis calls: with a role of its own (`streams[].roleArn`) a client of its
   * own under the assumed role, else the process's client.
   */
  private streamRuntime(stream: StreamConfig): StreamRuntime {
    const { config, options } = this;
    const credentials = streamCredentials(stream, {
      region: config.aws.region,
      sessionName: config.application,
    });
    const ownClient = credentials
      ? createKinesisClient({
          region: config.aws.region,
          idleTimeoutMs: config.aws.idleTimeoutMs,
          env: options.env,
          credentials,
        })
      : null;
    const log = config.streams ? options.log.child({ stream: stream.name }) : options.log;
    return {
      config: stream,
      api: new KinesisStreamApi(ownClient ?? this.clients.kinesis, stream.name),
      fanout: createFanoutSource(config, stream.name, log, credentials),
      ownClient,
    };
  }

  /**
   * The stream as the lease coordinator sees it. With `streams:` the table is a KCL
   * multi-stream table: each stream is identified as `account:stream:creationEpoch`.
   */
  private leaseStream(stream: StreamRuntime): LeaseStream {
    const identify = async (existing: ReadonlySet<string>) => {
      const { streamArn, createdAt } = await stream.api.describeSummary();
      const arn = parseStreamArn(streamArn);
      if (!arn) throw new Error(`${stream.config.name}: unexpected stream ARN ${streamArn}`);
      return chooseStreamIdentifier({ ...arn, createdAt }, existing);
    };
    return {
      name: stream.config.name,
      initialPosition: stream.config.initialPosition,
      listShards: () => stream.api.listShards(),
      ...(this.config.streams ? { identify } : {}),
    };
  }

  /** Shards this worker is consuming now (by lease key). */
  ownedShards(): string[] {
    return [...this.shards.keys()];
  }

  /**
   * Stop reading, flush every sink, checkpoint what they acknowledged, release the leases
   * so another replica resumes at once. Returns false if it did not finish in time.
   */
  async stop(): Promise<boolean> {
    if (this.stopping) return true;
    this.stopping = true;
    const { log } = this.options;
    const timeoutMs = this.config.shutdown.timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    // Room at the end of the budget for the steps after the lease releases.
    const stopDeadline = monotonicNow() + timeoutMs - CLOSE_GRACE_MS;
    const clean = await Promise.race([this.shutdownSteps(stopDeadline).then(() => true), timedOut]);
    clearTimeout(timer);
    this.renewer.stop();
    if (!clean)
      log.error(
        { timeoutMs },
        'shutdown did not finish in time; unacknowledged records will be read again',
      );
    // After a timed-out shutdown a sink may still wait on a request that never answers:
    // give closing a short grace, then exit anyway (the unacknowledged records are re-read).
    if (clean) {
      await this.closeResources();
    } else {
      await withinMs(this.closeResources(), CLOSE_GRACE_MS);
      this.server?.closeAllConnections();
      if (!this.options.clients) destroyAwsClients(this.clients);
      for (const stream of this.streams.values()) stream.ownClient?.destroy();
    }
    return clean;
  }

  private async shutdownSteps(stopDeadline: number): Promise<void> {
    const { log } = this.options;
    // Stop taking and syncing, but keep renewing the held leases until each one's final
    // checkpoint and release are written: a flush longer than the failover time must
    // not let another worker take a lease (and re-read its shard) before that.
    await step(log, 'stop taking leases', () => this.coordinator.stop());
    for (const { consumer } of this.shards.values()) consumer.stop();
    await Promise.all([...this.shards.values()].map((shard) => shard.done));
    await step(log, 'flush sinks', () =>
      Promise.all([
        ...this.sinkSet.sinks.map(({ sink }) => sink.flush()),
        this.sinkSet.deadLetter.flush(),
      ]),
    );
    // A sink that gave up dead-letters its batch: flush the dead-letter writer once more.
    await step(log, 'flush dead-letter', () => this.sinkSet.deadLetter.flush());
    await step(log, 'checkpoint', () =>
      Promise.all([...this.shards.values()].map(({ consumer }) => consumer.checkpointProgress())),
    );
    await step(log, 'release leases', () => this.coordinator.releaseAll());
    // A lease given to a replica that is stopping too is passed on: a few claim intervals,
    // within the shutdown budget.
    const claimIntervalMs = this.renewIntervalMs;
    const deadline = Math.min(
      stopDeadline,
      monotonicNow() + RELEASE_CONFIRM_INTERVALS * claimIntervalMs,
    );
    await step(log, 'see released leases taken', () => this.coordinator.confirmReleases(deadline));
    this.renewer.stop();
    this.coordinator.updateOwnedGauge();
    log.info({ shards: this.shards.size }, 'kinesis-relay stopped cleanly');
  }

  private async closeResources(): Promise<void> {
    await Promise.allSettled(this.sinkSet.sinks.map(({ sink }) => sink.close()));
    for (const stream of this.streams.values()) {
      stream.fanout?.close();
      stream.ownClient?.destroy();
    }
    await this.sinkSet.deadLetter.close().catch(() => undefined);
    await this.decodePool?.close().catch(() => undefined);
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
    if (!this.options.clients) destroyAwsClients(this.clients);
  }

  /**
   * A graceful handoff (another replica asked for this lease to balance): stop reading,
   * let what is in flight be delivered (within the handoff timeout, after which the asking
   * replica takes the lease outright), checkpoint it, and hand the lease over; the next
   * owner starts at that checkpoint, so nothing is delivered twice.
   */
  private async handOver(shardId: string): Promise<void> {
    const shard = this.shards.get(shardId);
    // On shutdown the release at the end completes the handoff.
    if (this.stopping || shard?.handingOver) return;
    if (!shard) {
      // Nothing reads it (its loop ended): hand it over at once.
      await this.renewer.release(shardId).catch(() => undefined);
      return;
    }
    shard.handingOver = true;
    const log = this.options.log.child({ shardId });
    shard.reads.pause();
    const budgetMs = handoffDrainMs(this.config.leases.failoverMs);
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
      await this.renewer.release(shardId);
    } catch (error) {
      log.warn({ err: errorMessage(error) }, 'handing the lease over failed');
    }
    // Stop without another write: whatever was not acknowledged is read by the next owner.
    shard.consumer.loseLease();
    this.coordinator.updateOwnedGauge();
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
    const { config, options } = this;
    const stream = this.streams.get(shard.stream);
    if (!stream) return; // the coordinator only hands out leases of configured streams
    const { shardId } = shard;
    const log = options.log.child(
      config.streams ? { stream: stream.config.name, shardId } : { shardId },
    );
    const reads = new ReadPause(this.readPermits);
    const pipeline = new ShardPipeline(
      createDecoder(config.decode.format),
      this.router,
      this.sinkSet.deadLetter,
      this.decodePool,
    );
    const consumer = new ShardConsumer({
      api: stream.api,
      shardId,
      leaseKey,
      startFrom: lease.checkpoint,
      processor: pipeline,
      checkpoints: {
        write: (_shardId, checkpoint) => this.renewer.checkpoint(leaseKey, checkpoint),
      },
      waitForParents: (signal) => this.coordinator.waitForParents(lease, signal),
      options: {
        maxRecordsPerCall: config.consumer.maxRecordsPerCall,
        idleTimeBetweenReadsMs: config.consumer.idleTimeBetweenReadsMs,
        minCallIntervalMs: config.consumer.minCallIntervalMs,
        checkpointIntervalMs: config.checkpoint.intervalMs,
        initialTimestamp: timestampOf(lease.checkpointTimestamp ?? stream.config.initialTimestamp),
      },
      log,
      metrics: this.metrics,
      readPermits: reads,
      source: stream.fanout?.reader,
    });
    const done = consumer
      .run()
      .then((outcome) => {
        log.info({ outcome }, 'shard consumer ended');
        if (outcome === 'shard-end') {
          // The row keeps SHARD_END; stop renewing it and look for its children now.
          this.renewer.forget(leaseKey);
          this.coordinator.updateOwnedGauge();
          if (!this.stopping)
            void this.coordinator
              .syncShards()
              .then(() => this.coordinator.takePass())
              .catch(() => undefined);
        }
        if (outcome !== 'stopped') forgetShard(this.metrics, stream.api.stream, shardId, leaseKey);
      })
      .catch(async (error: unknown) => {
        log.error({ err: errorMessage(error) }, 'shard consumer failed; releasing its lease');
        forgetShard(this.metrics, stream.api.stream, shardId, leaseKey);
        await this.coordinator.release(leaseKey).catch(() => undefined);
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

async function step(log: Logger, name: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    log.error({ step: name, err: errorMessage(error) }, 'shutdown step failed');
  }
}
