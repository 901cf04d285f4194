import { describe, expect, it } from 'vitest';
import { processMemoryBudget } from '../core/memory-budget.js';
import type { UserRecord } from '../core/record.js';
import { ShardReadMetrics } from '../kinesis/shard-read-metrics.js';
import { CapacityGate } from '../sinks/capacity-gate.js';
import { createMetrics, forgetShard, setSinkProgressGrace } from './metrics.js';

describe('per-shard clocks with several streams', () => {
  it('two streams with the same shard id keep a checkpoint age and a read age each', async () => {
    const metrics = createMetrics();
    const now = Date.now();
    // Keyed by lease key, labelled by stream and shard.
    for (const [key, stream] of [
      ['111122223333:orders:1:shardId-000000000000', 'orders'],
      ['111122223333:clicks:2:shardId-000000000000', 'clicks'],
    ] as const) {
      metrics.checkpointTimes.set(key, { stream, shard: 'shardId-000000000000', at: now });
      metrics.readTimes.set(key, { stream, shard: 'shardId-000000000000', at: now });
    }
    const text = await metrics.registry.metrics();
    for (const name of [
      'kinesis_relay_checkpoint_age_seconds',
      'kinesis_relay_shard_read_age_seconds',
    ])
      for (const stream of ['orders', 'clicks'])
        expect(text).toMatch(
          new RegExp(`${name}\\{stream="${stream}",shard="shardId-000000000000"\\}`),
        );
    forgetShard(
      metrics,
      'orders',
      'shardId-000000000000',
      '111122223333:orders:1:shardId-000000000000',
    );
    const after = await metrics.registry.metrics();
    expect(after).not.toContain('stream="orders",shard="shardId-000000000000"');
    expect(after).toContain('kinesis_relay_checkpoint_age_seconds{stream="clicks"');
  });
});

describe('byte gauges read at scrape time', () => {
  it('the memory budget, a sink gate and the dead-letter bytes are exported as they are when scraped', async () => {
    const metrics = createMetrics();
    const budget = processMemoryBudget(1_000_000, metrics);
    const gate = CapacityGate.forSink('archive', 500_000, metrics, budget);
    gate.add(1234);
    await budget.reserveWhenAvailable(4000, 4000);
    metrics.scrapeTime.deadLetterInflightBytes = () => 77;
    const text = await metrics.registry.metrics();
    expect(text).toContain('kinesis_relay_memory_bytes{state="limit"} 1000000');
    expect(text).toContain('kinesis_relay_memory_bytes{state="held"} 1234');
    expect(text).toContain('kinesis_relay_memory_bytes{state="reserved"} 4000');
    expect(text).toContain('kinesis_relay_sink_inflight_bytes{sink="archive"} 1234');
    expect(text).toContain('kinesis_relay_dead_letter_inflight_bytes 77');
    gate.remove(1234);
    const after = await metrics.registry.metrics();
    expect(after).toContain('kinesis_relay_sink_inflight_bytes{sink="archive"} 0');
    expect(after).toContain('kinesis_relay_memory_bytes{state="held"} 0');
  });
});

describe('sink progress grace', () => {
  it('an open batch that waits buffer.maxAgeMs by design is exported, so the alerts can allow for it', async () => {
    const metrics = createMetrics();
    const now = Date.now();
    metrics.sinkProgress.set('archive', { holding: true, lastProgressAt: now - 1_200_000 });
    metrics.sinkProgress.set('hook', { holding: false, lastProgressAt: now });
    setSinkProgressGrace(metrics, 'archive', 3_600_000);
    const text = await metrics.registry.metrics();
    expect(text).toContain('kinesis_relay_sink_progress_grace_seconds{sink="archive"} 3600');
    // No grace given: none allowed.
    expect(text).toContain('kinesis_relay_sink_progress_grace_seconds{sink="hook"} 0');
    expect(text).toMatch(
      /kinesis_relay_sink_progress_age_seconds\{sink="archive"\} 1200(\.\d+)?\n/,
    );
  });
});

describe('a released shard', () => {
  const A = 'shardId-000000000007';
  const B = 'shardId-000000000008';
  const record = (shardId: string) =>
    ({
      streamName: 's',
      shardId,
      partitionKey: 'k',
      aggregated: false,
      sequenceNumber: '1',
      subSequenceNumber: 0,
      approximateArrivalTimestamp: new Date(),
      data: new Uint8Array(10),
    }) as UserRecord;
  /** A shard loop's metrics as it writes them while it reads. */
  const reading = (metrics: ReturnType<typeof createMetrics>, shard: string) => {
    const loop = new ShardReadMetrics(metrics, 's', shard, shard);
    loop.startGetRecords()();
    loop.markRead();
    loop.markCheckpointed();
    loop.observe([record(shard)], 1000);
    loop.throttled();
    loop.checkpointTrimmed();
    return loop;
  };
  /** Families with a shard label whose series name the shard. */
  const familiesWith = (text: string, shard: string) =>
    new Set(
      [...text.matchAll(new RegExp(`^(kinesis_relay_\\w+)\\{[^}]*shard="${shard}"`, 'gm'))].map(
        (match) => match[1],
      ),
    );

  it("loses every series labelled with it from /metrics (counters too); other shards' series remain", async () => {
    const metrics = createMetrics();
    const released = reading(metrics, A);
    reading(metrics, B);
    const before = await metrics.registry.metrics();
    const families = familiesWith(before, A);
    // Every per-shard family of design.md is there for both shards.
    expect([...families].sort()).toEqual([
      'kinesis_relay_bytes_total',
      'kinesis_relay_checkpoint_age_seconds',
      'kinesis_relay_checkpoint_trimmed_total',
      'kinesis_relay_getrecords_throttles_total',
      'kinesis_relay_iterator_age_seconds',
      'kinesis_relay_millis_behind_latest',
      'kinesis_relay_records_total',
      'kinesis_relay_shard_read_age_seconds',
    ]);
    expect(familiesWith(before, B)).toEqual(families);

    forgetShard(metrics, 's', A);
    const after = await metrics.registry.metrics();
    expect(after).not.toContain(`shard="${A}"`);
    expect(familiesWith(after, B)).toEqual(families);

    // A write the ended loop still makes (a checkpoint answered late) brings none back.
    released.markCheckpointed();
    released.markRead();
    released.observe([record(A)], 5);
    released.throttled();
    expect(await metrics.registry.metrics()).not.toContain(`shard="${A}"`);

    // Owned again later: its series start again (counters at zero).
    reading(metrics, A);
    const again = await metrics.registry.metrics();
    expect(familiesWith(again, A)).toEqual(families);
    expect(again).toContain(`kinesis_relay_records_total{stream="s",shard="${A}"} 1`);
  });
});
