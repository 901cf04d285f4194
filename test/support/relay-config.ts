/** A relay config for tests: short timings through config, never by faking time. */
export function testRelayConfig(
  names: { stream: string; table: string; bucket: string },
  overrides: Record<string, unknown> = {},
) {
  return {
    application: names.table,
    stream: { name: names.stream, initialPosition: 'TRIM_HORIZON' },
    // Default failover: a loaded CI machine must not make a single worker lose its own leases.
    leases: { failoverMs: 10_000, takeIntervalMs: 1000, shardSyncIntervalMs: 5000 },
    consumer: { idleTimeBetweenReadsMs: 200 },
    sinks: [
      {
        name: 'archive',
        type: 's3',
        bucket: names.bucket,
        format: 'jsonl',
        layout: 'hourly',
        compression: 'gzip',
        buffer: { maxRecords: 2000, maxBytes: 4 * 1024 * 1024, maxAgeMs: 1000 },
        retry: { initialDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 600_000 },
      },
    ],
    checkpoint: { intervalMs: 500 },
    shutdown: { timeoutMs: 20_000 },
    metrics: { port: 0, host: '127.0.0.1' },
    log: { level: 'info' },
    ...overrides,
  };
}

/** The normalized JSON line the S3 sink writes for a plain JSON record. */
export interface ArchivedLine {
  readonly kinesis: { shard_id: string; sequence_number: string; sub_sequence_number: number };
  readonly original: { n: number; payload: string };
}
