import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { createLeaseParts } from './app-leases.js';
import { createRouter, startDecodePool } from './app-pipeline.js';
import { RunningShards } from './app-running-shards.js';
import { shutDown } from './app-shutdown.js';
import { leaseStream, streamRuntime, type StreamRuntime } from './app-streams.js';
import { configuredStreams, type RelayConfig } from './config/schema.js';
import { smallHeapWarning } from './core/heap-sizing.js';
import { processMemoryBudget, readMemoryLimits, type MemoryLimits } from './core/memory-budget.js';
import { pagesBudgetShare, ReadPermits } from './core/read-permits.js';
import { csvShapeFor } from './decode/index.js';
import { createAwsClients, type AwsClients } from './kinesis/clients.js';
import type { LeaseCoordinator } from './leases/lease-coordinator.js';
import type { LeaseRenewer } from './leases/lease-renewer.js';
import type { LeaseStore } from './leases/lease-store.js';
import { startHttpServer } from './observability/http-server.js';
import type { Logger } from './observability/logger.js';
import { relayVersion } from './observability/build-info.js';
import { createMetrics, type RelayMetrics } from './observability/metrics.js';
import { evaluateLiveness, livenessStallMs } from './observability/liveness.js';
import { evaluateReadiness } from './observability/readiness.js';
import type { DecodePool } from './pipeline/workers/decode-pool.js';
import { createSinks, type SinkSet } from './sinks/create-sinks.js';

export interface RelayOptions {
  readonly log: Logger;
  readonly env?: NodeJS.ProcessEnv;
  readonly clients?: AwsClients;
  /** What bounds the process's memory (default: its cgroup's limit and V8's, read at start). */
  readonly memoryLimits?: MemoryLimits;
}

/** A unique id per process (pod name + random suffix), unless the config fixes one. */
export function defaultWorkerId(): string {
  return `${hostname()}-${randomBytes(4).toString('hex')}`;
}

/**
 * Wires the parts: the only place that reads the whole config. The parts it builds are
 * made in the `app-*.ts` modules beside it: the streams, the leases, the router and decode
 * pool, the running shards, the shutdown sequence.
 */
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
  /** Null: pages are decoded and encoded on the main thread (consumer.workerThreads). */
  private readonly decodePool: DecodePool | null;
  private readonly shards: RunningShards;
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
    const memoryLimits = options.memoryLimits ?? readMemoryLimits();
    const memory = processMemoryBudget(config.memory.limitBytes, this.metrics, memoryLimits);
    const heapWarning = smallHeapWarning(memoryLimits.containerBytes, memoryLimits.heapBytes);
    if (heapWarning) log.warn(heapWarning);
    this.metrics.buildInfo.set({ version: relayVersion(), node_version: process.version }, 1);
    this.clients =
      options.clients ??
      createAwsClients({
        region: config.aws.region,
        idleTimeoutMs: config.aws.idleTimeoutMs,
        env: options.env,
      });
    for (const stream of configuredStreams(config))
      this.streams.set(stream.name, streamRuntime(stream, config, options, this.clients));
    const leases = createLeaseParts(config, {
      workerId: this.workerId,
      dynamo: this.clients.dynamo,
      streams: [...this.streams.values()].map((stream) => leaseStream(stream, config)),
      // The coordinator hands out leases only once started: the shards exist by then.
      listener: {
        acquired: (lease, shard) => this.shards.acquired(lease, shard),
        lost: (shardId) => this.shards.lost(shardId),
        paused: (shardId) => this.shards.paused(shardId),
        resumed: (shardId) => this.shards.resumed(shardId),
        handoff: (shardId) => this.shards.handoff(shardId),
      },
      log,
      metrics: this.metrics,
    });
    this.store = leases.store;
    this.renewer = leases.renewer;
    this.coordinator = leases.coordinator;
    this.renewIntervalMs = leases.renewIntervalMs;
    this.sinkSet = createSinks(config, {
      s3: this.clients.s3,
      csvShapeFor,
      metrics: this.metrics,
      log,
      memory,
    });
    const router = createRouter(this.sinkSet);
    this.decodePool = startDecodePool(config, this.sinkSet, {
      log: options.log,
      budget: memory,
    });
    const readPermits = new ReadPermits(
      config.consumer.maxConcurrentReads,
      memory,
      config.sinks.length,
      pagesBudgetShare(this.decodePool?.mainThreadReadsPages ?? false),
    );
    this.shards = new RunningShards({
      config,
      log,
      streams: this.streams,
      readPermits,
      router,
      deadLetter: this.sinkSet.deadLetter,
      decodePool: this.decodePool,
      renewer: this.renewer,
      coordinator: this.coordinator,
      metrics: this.metrics,
      isStopping: () => this.stopping,
    });
  }

  async start(): Promise<void> {
    const { config, options } = this;
    const livenessStallAfterMs = livenessStallMs(config.metrics);
    const stallInput = () => ({
      leasesSynced: this.coordinator.ready,
      lastReads: this.metrics.readTimes,
      sinkProgress: this.metrics.sinkProgress,
      ownedShards: this.ownedShards(),
      now: Date.now(),
    });
    const http = await startHttpServer(
      this.metrics.registry,
      {
        readiness: () =>
          evaluateReadiness({ ...stallInput(), stallAfterMs: config.metrics.stallAfterMs }),
        liveness: () => evaluateLiveness({ ...stallInput(), livenessStallAfterMs }),
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

  /** Shards this worker is consuming now (by lease key). */
  ownedShards(): string[] {
    return this.shards.leaseKeys();
  }

  /**
   * Stop reading, flush every sink, checkpoint what they acknowledged, release the leases
   * so another replica resumes at once. Returns false if it did not finish in time.
   */
  async stop(): Promise<boolean> {
    if (this.stopping) return true;
    this.stopping = true;
    return shutDown({
      log: this.options.log,
      timeoutMs: this.config.shutdown.timeoutMs,
      renewIntervalMs: this.renewIntervalMs,
      coordinator: this.coordinator,
      renewer: this.renewer,
      shards: this.shards,
      sinkSet: this.sinkSet,
      streams: [...this.streams.values()],
      decodePool: this.decodePool,
      server: () => this.server,
      ownClients: this.options.clients ? null : this.clients,
    });
  }
}
