import type { UserRecord } from '../core/record.js';
import type { RelayMetrics, ShardSeriesWriter } from '../observability/metrics.js';

/**
 * One shard loop's metrics: its series looked up once (not a label hash per page), and the
 * read and checkpoint clocks behind /readyz's stall check and the age gauges.
 *
 * Closed once the shard is released (forgetShard): a write after that would bring back
 * the series just removed (a child from labels() re-creates its series), for good.
 */
export class ShardReadMetrics implements ShardSeriesWriter {
  private readonly series;
  private closed = false;

  constructor(
    private readonly metrics: RelayMetrics,
    private readonly stream: string,
    private readonly shardId: string,
    /** Keys the clocks: two streams' equal shard ids must not share them. */
    private readonly clockKey: string,
  ) {
    // A loop of the same lease still registered (it ended without being forgotten) would
    // write over this one's series: it writes no more.
    metrics.shardWriters.get(clockKey)?.close();
    metrics.shardWriters.set(clockKey, this);
    const labels = { stream, shard: shardId };
    this.series = {
      millisBehindLatest: metrics.millisBehindLatest.labels(labels),
      iteratorAge: metrics.iteratorAge.labels(labels),
      records: metrics.records.labels(labels),
      bytes: metrics.bytes.labels(labels),
      throttles: metrics.getRecordsThrottles.labels(labels),
      checkpointTrimmed: metrics.checkpointTrimmed.labels(labels),
      getRecordsDuration: metrics.getRecordsDuration.labels({ stream }),
    };
    // Exported at zero from the start, so rate() and the alerts have series on a quiet shard.
    this.series.throttles.inc(0);
    this.series.checkpointTrimmed.inc(0);
    this.series.records.inc(0);
    this.series.bytes.inc(0);
  }

  close(): void {
    this.closed = true;
  }

  /** Times one GetRecords call; call the result when it answers. */
  startGetRecords(): () => void {
    // Labelled by stream only: kept when the shard is released.
    return this.series.getRecordsDuration.startTimer();
  }

  throttled(): void {
    if (!this.closed) this.series.throttles.inc();
  }

  checkpointTrimmed(): void {
    if (!this.closed) this.series.checkpointTrimmed.inc();
  }

  /** Feeds the stall check of /readyz and kinesis_relay_shard_read_age_seconds. */
  markRead(): void {
    if (this.closed) return;
    this.metrics.readTimes.set(this.clockKey, {
      stream: this.stream,
      shard: this.shardId,
      at: Date.now(),
    });
  }

  /** Feeds kinesis_relay_checkpoint_age_seconds. */
  markCheckpointed(): void {
    if (this.closed) return;
    this.metrics.checkpointTimes.set(this.clockKey, {
      stream: this.stream,
      shard: this.shardId,
      at: Date.now(),
    });
  }

  /** As `observe`, for a page read by a worker: its counts, not its records. */
  observeCounts(
    records: number,
    dataBytes: number,
    lastArrivalMs: number | null,
    millisBehindLatest: number | null,
  ): void {
    if (this.closed) return;
    const series = this.series;
    if (millisBehindLatest !== null) series.millisBehindLatest.set(millisBehindLatest);
    if (records === 0) return;
    series.records.inc(records);
    series.bytes.inc(dataBytes);
    if (lastArrivalMs !== null) {
      series.iteratorAge.set(Math.max(0, (Date.now() - lastArrivalMs) / 1000));
    }
  }

  /** A page handed to the processor: its records, bytes, lag and the last record's age. */
  observe(records: readonly UserRecord[], millisBehindLatest: number | null): void {
    let bytes = 0;
    for (const record of records) bytes += record.data.byteLength;
    const last = records[records.length - 1];
    this.observeCounts(
      records.length,
      bytes,
      last ? last.approximateArrivalTimestamp.getTime() : null,
      millisBehindLatest,
    );
  }
}
