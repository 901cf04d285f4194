import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Whether a sink holds events, and when it last finished a batch (ms since epoch). */
export interface SinkProgress {
  readonly holding: boolean;
  readonly lastProgressAt: number;
  /** Bytes the sink holds (kinesis_relay_sink_inflight_bytes, read at scrape time). */
  readonly inFlight?: number;
  /**
   * At its in-flight bound (or the memory budget is spent): shard loops routing to it wait
   * for room, so their reads stall while the sink itself may still progress (/healthz).
   */
  readonly full?: boolean;
  /**
   * How long the sink may hold events with no batch finished by design (an open batch
   * waits up to `buffer.maxAgeMs`); /readyz allows this on top of `stallAfterMs`.
   */
  readonly graceMs?: number;
}

/** Gives a sink's progress its by-design waiting time (see SinkProgress.graceMs). */
export function setSinkProgressGrace(metrics: RelayMetrics, sink: string, graceMs: number): void {
  const progress = metrics.sinkProgress.get(sink);
  if (!progress) return;
  metrics.sinkProgress.set(sink, {
    get holding() {
      return progress.holding;
    },
    get lastProgressAt() {
      return progress.lastProgressAt;
    },
    get inFlight() {
      return progress.inFlight;
    },
    get full() {
      return progress.full;
    },
    graceMs,
  });
}

/** Seconds a sink has held events without finishing a batch; 0 while it holds none. */
export function sinkProgressAgeSeconds(progress: SinkProgress, now: number): number {
  return progress.holding ? Math.max(0, now - progress.lastProgressAt) / 1000 : 0;
}

/**
 * Every metric the relay exports, under the names in design.md (base units, `_total`
 * counters). Label sets stay bounded: stream, shard, sink, outcome and reason only.
 */
export function createMetrics(registry: Registry = new Registry()) {
  collectDefaultMetrics({ register: registry });
  // prom-client names three gauges `_total`, which Prometheus reserves for counters (promtool
  // check metrics rejects them); each is the sum of its per-type sibling, so nothing is lost.
  for (const name of [
    'nodejs_active_handles_total',
    'nodejs_active_requests_total',
    'nodejs_active_resources_total',
  ])
    registry.removeSingleMetric(name);
  const registers = [registry];
  /**
   * When each owned shard's checkpoint last moved (ms since epoch); read at scrape time.
   * Keyed by lease key: two streams may both have a shardId-000000000000.
   */
  const checkpointTimes = new Map<string, ShardClock>();
  /** When each owned shard's loop last completed a GetRecords call (ms since epoch). */
  const readTimes = new Map<string, ShardClock>();
  /** Each sink's progress (its capacity gate), by sink name; read at scrape time. */
  const sinkProgress = new Map<string, SinkProgress>();
  /**
   * Byte counts that change with every event are read when Prometheus scrapes, not set per
   * event: a gauge's set() hashes its labels each time, ~1.7 % of the relay's CPU at full
   * speed (profile, 16 shards).
   */
  const scrapeTime: ScrapeTimeSources = {};
  /** The writer of each owned shard's series (its loop's ShardReadMetrics), by lease key. */
  const shardWriters = new Map<string, ShardSeriesWriter>();
  return {
    registry,
    scrapeTime,
    checkpointTimes,
    readTimes,
    shardWriters,
    sinkProgress,
    millisBehindLatest: new Gauge({
      name: 'kinesis_relay_millis_behind_latest',
      help: 'MillisBehindLatest reported by the last GetRecords call of the shard.',
      labelNames: ['stream', 'shard'] as const,
      registers,
    }),
    iteratorAge: new Gauge({
      name: 'kinesis_relay_iterator_age_seconds',
      help: 'Age of the last record read from the shard (now - ApproximateArrivalTimestamp).',
      labelNames: ['stream', 'shard'] as const,
      registers,
    }),
    records: new Counter({
      name: 'kinesis_relay_records_total',
      help: 'User records read (after KPL de-aggregation).',
      labelNames: ['stream', 'shard'] as const,
      registers,
    }),
    bytes: new Counter({
      name: 'kinesis_relay_bytes_total',
      help: 'Bytes of record data read.',
      labelNames: ['stream', 'shard'] as const,
      registers,
    }),
    getRecordsDuration: new Histogram({
      name: 'kinesis_relay_getrecords_duration_seconds',
      help: 'Latency of GetRecords calls.',
      labelNames: ['stream'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    checkpointTrimmed: new Counter({
      name: 'kinesis_relay_checkpoint_trimmed_total',
      help: 'Shard reads that found their start record trimmed (older than the retention) and resumed at the oldest record kept.',
      labelNames: ['stream', 'shard'] as const,
      registers,
    }),
    getRecordsThrottles: new Counter({
      name: 'kinesis_relay_getrecords_throttles_total',
      help: 'GetRecords calls refused for throughput (ProvisionedThroughputExceeded and kin).',
      labelNames: ['stream', 'shard'] as const,
      registers,
    }),
    sinkRecords: new Counter({
      name: 'kinesis_relay_sink_records_total',
      help: 'Events handled by a sink, by outcome (delivered, dead_lettered).',
      labelNames: ['sink', 'outcome'] as const,
      registers,
    }),
    sinkBytes: new Counter({
      name: 'kinesis_relay_sink_bytes_total',
      help: 'Bytes written by a sink (as sent, after compression).',
      labelNames: ['sink'] as const,
      registers,
    }),
    sinkBatches: new Counter({
      name: 'kinesis_relay_sink_batches_total',
      help: 'Batches written by a sink, by outcome (delivered, dead_lettered).',
      labelNames: ['sink', 'outcome'] as const,
      registers,
    }),
    sinkRetries: new Counter({
      name: 'kinesis_relay_sink_retries_total',
      help: 'Batch write attempts that failed and were retried.',
      labelNames: ['sink'] as const,
      registers,
    }),
    sinkAccessErrors: new Counter({
      name: 'kinesis_relay_sink_access_errors_total',
      help: 'Sink write attempts the destination refused for its credentials or address (HTTP 401, 403, 404, 3xx), by reason; retried.',
      labelNames: ['sink', 'reason'] as const,
      registers,
    }),
    sinkBatchDuration: new Histogram({
      name: 'kinesis_relay_sink_batch_duration_seconds',
      help: 'Time from a batch leaving the buffer to its acknowledgement, retries included.',
      labelNames: ['sink'] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    sinkInflightBytes: new Gauge({
      name: 'kinesis_relay_sink_inflight_bytes',
      help: 'Bytes buffered or being written by a sink (its backpressure bound applies to this).',
      labelNames: ['sink'] as const,
      registers,
      collect() {
        for (const [sink, progress] of sinkProgress)
          if (progress.inFlight !== undefined) this.set({ sink }, progress.inFlight);
      },
    }),
    sinkProgressAge: new Gauge({
      name: 'kinesis_relay_sink_progress_age_seconds',
      help: 'Seconds the sink has held events without finishing (acknowledging or dead-lettering) a batch; 0 while it holds none.',
      labelNames: ['sink'] as const,
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const [sink, progress] of sinkProgress)
          this.set({ sink }, sinkProgressAgeSeconds(progress, now));
      },
    }),
    sinkProgressGrace: new Gauge({
      name: 'kinesis_relay_sink_progress_grace_seconds',
      help: 'Seconds the sink may hold events without finishing a batch by design (its buffer.maxAgeMs; 0 for an exactly-once S3 sink): /readyz and the alerts allow this on top of their thresholds.',
      labelNames: ['sink'] as const,
      registers,
      // A sink writing hourly objects legitimately shows an hour of progress age; without
      // this the alert rules could not tell it from a stuck one.
      collect() {
        this.reset();
        for (const [sink, progress] of sinkProgress)
          this.set({ sink }, (progress.graceMs ?? 0) / 1000);
      },
    }),
    deadLetterRecords: new Counter({
      name: 'kinesis_relay_dead_letter_records_total',
      help: 'Records written to the dead-letter destination, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    deadLetterInflightBytes: new Gauge({
      name: 'kinesis_relay_dead_letter_inflight_bytes',
      help: 'Bytes of entries the dead-letter writer holds until stored (its deadLetter.maxInFlightBytes bound applies to this).',
      registers,
      collect() {
        const read = scrapeTime.deadLetterInflightBytes;
        if (read) this.set(read());
      },
    }),
    memoryBytes: new Gauge({
      name: 'kinesis_relay_memory_bytes',
      help: 'The process memory budget (memory.limitBytes): its limit, the bytes sinks and the dead-letter writer hold, and the bytes reserved for GetRecords pages in hand.',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const memory = scrapeTime.memory;
        if (!memory) return;
        this.set({ state: 'limit' }, memory.limitBytes);
        this.set({ state: 'held' }, memory.held);
        this.set({ state: 'reserved' }, memory.reserved);
      },
    }),
    leasesOwned: new Gauge({
      name: 'kinesis_relay_leases_owned',
      help: 'Leases held by this worker.',
      registers,
    }),
    leaseChanges: new Counter({
      name: 'kinesis_relay_lease_changes_total',
      help: 'Leases this worker took (taken: free or expired; stolen: toward an even share) or lost.',
      labelNames: ['change'] as const,
      registers,
    }),
    checkpointAge: new Gauge({
      name: 'kinesis_relay_checkpoint_age_seconds',
      help: 'Seconds since the shard checkpoint last moved (or since the shard started).',
      labelNames: ['stream', 'shard'] as const,
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const { stream, shard, at } of checkpointTimes.values())
          this.set({ stream, shard }, (now - at) / 1000);
      },
    }),
    shardReadAge: new Gauge({
      name: 'kinesis_relay_shard_read_age_seconds',
      help: 'Seconds since the shard loop last completed a GetRecords call (grows when stalled).',
      labelNames: ['stream', 'shard'] as const,
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const { stream, shard, at } of readTimes.values())
          this.set({ stream, shard }, (now - at) / 1000);
      },
    }),
    buildInfo: new Gauge({
      name: 'kinesis_relay_build_info',
      help: 'Always 1; the labels carry the relay version and the Node.js version.',
      labelNames: ['version', 'node_version'] as const,
      registers,
    }),
  };
}

export type RelayMetrics = ReturnType<typeof createMetrics>;

/** What some gauges read when scraped (set once by their owners). */
export interface ScrapeTimeSources {
  memory?: { readonly limitBytes: number; readonly held: number; readonly reserved: number };
  deadLetterInflightBytes?: () => number;
}

/** What writes one shard's series; closed, it writes nothing more (forgetShard). */
export interface ShardSeriesWriter {
  close(): void;
}

/** When something last happened on one shard of one stream (ms since epoch). */
export interface ShardClock {
  readonly stream: string;
  readonly shard: string;
  readonly at: number;
}

/**
 * Drops every series labelled with a shard once this worker no longer reads it (lost,
 * released, handed over, finished), counters included: after resharding and lease moves a
 * long-running replica would otherwise export every shard it ever read, until restarted,
 * and a dashboard would show another worker's shard frozen at its last value here. Its
 * loop's writer is closed first, so a late write (a checkpoint answered after the loop
 * ended) brings none back. Owned again later, the shard's series start again (a counter
 * reset, which rate() and increase() allow for).
 */
export function forgetShard(
  metrics: RelayMetrics,
  stream: string,
  shard: string,
  leaseKey: string = shard,
): void {
  metrics.shardWriters.get(leaseKey)?.close();
  metrics.shardWriters.delete(leaseKey);
  const labels = { stream, shard };
  metrics.millisBehindLatest.remove(labels);
  metrics.iteratorAge.remove(labels);
  metrics.records.remove(labels);
  metrics.bytes.remove(labels);
  metrics.checkpointTrimmed.remove(labels);
  metrics.getRecordsThrottles.remove(labels);
  // kinesis_relay_checkpoint_age_seconds and _shard_read_age_seconds: read from these.
  metrics.checkpointTimes.delete(leaseKey);
  metrics.readTimes.delete(leaseKey);
}

/**
 * Counts an event dead-lettered for a sink outside the sink's own delivery (the shard
 * pipeline's, when the sink threw instead of taking it) as the sinks count theirs, so
 * kinesis_relay_sink_records_total{outcome="dead_lettered"} holds every event a sink lost.
 */
export function sinkDeadLetterCounter(metrics: RelayMetrics): (sink: string) => void {
  return (sink) => metrics.sinkRecords.inc({ sink, outcome: 'dead_lettered' });
}

/**
 * Exports a sink's series at zero before its first batch, so rate(), increase() and the
 * alert rules see a series (and Grafana a flat line) instead of nothing.
 */
export function zeroSinkSeries(metrics: RelayMetrics, sink: string): void {
  for (const outcome of ['delivered', 'dead_lettered']) {
    metrics.sinkRecords.inc({ sink, outcome }, 0);
    metrics.sinkBatches.inc({ sink, outcome }, 0);
  }
  metrics.sinkBytes.inc({ sink }, 0);
  metrics.sinkRetries.inc({ sink }, 0);
  for (const reason of ['unauthorized', 'forbidden', 'not_found', 'redirected']) {
    metrics.sinkAccessErrors.inc({ sink, reason }, 0);
  }
  metrics.sinkBatchDuration.zero({ sink });
  metrics.sinkInflightBytes.set({ sink }, 0);
}
