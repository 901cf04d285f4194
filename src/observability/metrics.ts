import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the relay exports, under the names in design.md (base units, `_total`
 * counters). Label sets stay bounded: stream, shard, sink, outcome and reason only.
 */
export function createMetrics(registry: Registry = new Registry()) {
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  /** When each owned shard's checkpoint last moved (ms since epoch); read at scrape time. */
  const checkpointTimes = new Map<string, number>();
  return {
    registry,
    checkpointTimes,
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
    }),
    deadLetterRecords: new Counter({
      name: 'kinesis_relay_dead_letter_records_total',
      help: 'Records written to the dead-letter destination, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    leasesOwned: new Gauge({
      name: 'kinesis_relay_leases_owned',
      help: 'Leases held by this worker.',
      registers,
    }),
    leaseChanges: new Counter({
      name: 'kinesis_relay_lease_changes_total',
      help: 'Leases taken, stolen, lost and released by this worker.',
      labelNames: ['change'] as const,
      registers,
    }),
    checkpointAge: new Gauge({
      name: 'kinesis_relay_checkpoint_age_seconds',
      help: 'Seconds since the shard checkpoint last moved (or since the shard started).',
      labelNames: ['shard'] as const,
      registers,
      collect() {
        this.reset();
        const now = Date.now();
        for (const [shard, at] of checkpointTimes) this.set({ shard }, (now - at) / 1000);
      },
    }),
  };
}

export type RelayMetrics = ReturnType<typeof createMetrics>;
