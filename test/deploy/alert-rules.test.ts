import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { promtool } from '../support/prometheus.js';
import { hasTool, repoPath } from './helpers.js';

/**
 * The alert rules (helm/kinesis-relay/files/alerts.yaml) against synthetic series, with
 * `promtool test rules`: whether each alert fires when it should and stays silent for a
 * healthy relay. test/integration/observability.test.ts checks the same rules against a
 * real relay's scrape; this one covers states a short test run cannot reach (an hour-long
 * batch, twenty minutes without progress).
 */

const ALERTS = repoPath('helm/kinesis-relay/files/alerts.yaml');
const TARGET = 'instance="relay-0:9464",job="kinesis-relay"';

interface Series {
  readonly series: string;
  readonly values: string;
}

interface AlertCase {
  readonly eval_time: string;
  readonly alertname: string;
  readonly exp_alerts: ReadonlyArray<{
    exp_labels: Record<string, string>;
    exp_annotations?: Record<string, string>;
  }>;
}

/** Runs one promtool unit test (one minute per sample); returns promtool's verdict. */
function testRules(inputSeries: Series[], cases: AlertCase[]): { code: number; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kinesis-relay-alert-rules-'));
  const file = join(dir, 'test.yaml');
  writeFileSync(
    file,
    stringify({
      rule_files: [ALERTS],
      evaluation_interval: '1m',
      tests: [{ interval: '1m', input_series: inputSeries, alert_rule_test: cases }],
    }),
  );
  return promtool(['test', 'rules', file]);
}

/** The series of one sink holding events for 40 minutes without finishing a batch. */
function sinkHolding(graceSeconds: number): Series[] {
  return [
    {
      series: `kinesis_relay_sink_progress_age_seconds{${TARGET},sink="archive"}`,
      values: '0+60x40',
    },
    {
      series: `kinesis_relay_sink_progress_grace_seconds{${TARGET},sink="archive"}`,
      values: `${graceSeconds}x40`,
    },
  ];
}

/** One shard read all along whose checkpoint has not moved for 40 minutes. */
function checkpointWaiting(graceSeconds: number): Series[] {
  const shard = `${TARGET},stream="events",shard="shardId-000000000000"`;
  return [
    { series: `kinesis_relay_checkpoint_age_seconds{${shard}}`, values: '0+60x40' },
    { series: `kinesis_relay_records_total{${shard}}`, values: '0+600x40' },
    ...sinkHolding(graceSeconds),
  ];
}

describe.skipIf(!hasTool('promtool'))('alert rules (promtool test rules)', () => {
  it('a sink whose open batch waits an hour by design (buffer.maxAgeMs) pages no one', () => {
    const result = testRules(sinkHolding(3600), [
      { eval_time: '35m', alertname: 'KinesisRelaySinkNoProgress', exp_alerts: [] },
    ]);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('a sink with a one-minute batch age and no batch finished for 20 minutes fires SinkNoProgress', () => {
    const result = testRules(sinkHolding(60), [
      {
        eval_time: '35m',
        alertname: 'KinesisRelaySinkNoProgress',
        exp_alerts: [
          {
            exp_labels: { severity: 'critical', sink: 'archive' },
            exp_annotations: {
              summary:
                'Sink archive has held events for 34m 0s beyond its buffer.maxAgeMs without finishing a batch',
              description:
                'The sink neither delivered nor dead-lettered a batch for over 15 minutes more than its open batch may wait (buffer.maxAgeMs) while holding events: a load stuck on a lock, a dead connection, or a destination failing without end. /readyz of that replica fails too; its shards pause once its in-flight bound is reached.',
            },
          },
        ],
      },
    ]);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('a checkpoint that waits for an hour-long S3 batch by design does not fire CheckpointStalled', () => {
    const result = testRules(checkpointWaiting(3600), [
      { eval_time: '35m', alertname: 'KinesisRelayCheckpointStalled', exp_alerts: [] },
    ]);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('a checkpoint stuck for 30 minutes behind one-minute batches fires CheckpointStalled', () => {
    const result = testRules(checkpointWaiting(60), [
      {
        eval_time: '35m',
        alertname: 'KinesisRelayCheckpointStalled',
        exp_alerts: [
          {
            exp_labels: { severity: 'warning', stream: 'events', shard: 'shardId-000000000000' },
            exp_annotations: {
              summary:
                'Checkpoint of shard events/shardId-000000000000 has not moved for 34m 0s beyond the longest buffer.maxAgeMs',
              description:
                'Records are read but not acknowledged by every sink: a sink is failing or blocked. A restart would re-read everything since the checkpoint.',
            },
          },
        ],
      },
    ]);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('one relay deployment with no lease fires NoLeasesOwned although another deployment holds leases', () => {
    // Two releases (two applications) scraped by one Prometheus: a sum over both hid the
    // one that consumes nothing.
    const result = testRules(
      [
        {
          series:
            'kinesis_relay_leases_owned{instance="10.0.0.1:9464",job="orders-relay",namespace="orders"}',
          values: '4x30',
        },
        {
          series:
            'kinesis_relay_leases_owned{instance="10.0.0.2:9464",job="clicks-relay",namespace="clicks"}',
          values: '0x30',
        },
      ],
      [
        {
          eval_time: '15m',
          alertname: 'KinesisRelayNoLeasesOwned',
          exp_alerts: [
            {
              exp_labels: { severity: 'critical', job: 'clicks-relay', namespace: 'clicks' },
              exp_annotations: {
                summary: 'No replica of clicks/clicks-relay owns a lease',
                description:
                  'Nothing is consuming the stream: no replica has held a lease for 10 minutes. Check the lease table, IAM permissions and the relay logs.',
              },
            },
          ],
        },
      ],
    );
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('records lost to the retention (a trimmed checkpoint) page someone', () => {
    // The one metric that says records were never delivered and cannot be read again.
    const shard = `${TARGET},stream="events",shard="shardId-000000000003"`;
    const born = `${TARGET},stream="events",shard="shardId-000000000004"`;
    const result = testRules(
      [
        { series: `kinesis_relay_checkpoint_trimmed_total{${shard}}`, values: '0x5 1x20' },
        // Found at the shard's first read, before any scrape: the series is born at 1, which
        // increase() alone never counts.
        { series: `kinesis_relay_checkpoint_trimmed_total{${born}}`, values: '_x5 1x20' },
      ],
      [
        { eval_time: '4m', alertname: 'KinesisRelayRecordsTrimmed', exp_alerts: [] },
        {
          eval_time: '10m',
          alertname: 'KinesisRelayRecordsTrimmed',
          exp_alerts: [
            {
              exp_labels: { severity: 'critical', stream: 'events', shard: 'shardId-000000000003' },
              exp_annotations: {
                summary:
                  'Records of events/shardId-000000000003 were lost: its checkpoint was older than the stream retention',
                description:
                  'The shard resumed at TRIM_HORIZON: the records between its checkpoint and the oldest record the stream holds were never delivered and cannot be read again. See docs/operations.md (A checkpoint older than the retention).',
              },
            },
            {
              exp_labels: { severity: 'critical', stream: 'events', shard: 'shardId-000000000004' },
              exp_annotations: {
                summary:
                  'Records of events/shardId-000000000004 were lost: its checkpoint was older than the stream retention',
                description:
                  'The shard resumed at TRIM_HORIZON: the records between its checkpoint and the oldest record the stream holds were never delivered and cannot be read again. See docs/operations.md (A checkpoint older than the retention).',
              },
            },
          ],
        },
      ],
    );
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('TargetDown fires for a down relay target, not for another job whose name contains kinesis-relay', () => {
    const result = testRules(
      [
        { series: `up{${TARGET}}`, values: '0x10' },
        { series: 'up{instance="relay-1:9464",job="kinesis-relay"}', values: '1x10' },
        // Someone else's exporter: the regex .*kinesis-relay.* paged for it.
        { series: 'up{instance="exporter-0:9100",job="kinesis-relay-exporter"}', values: '0x10' },
      ],
      [
        {
          eval_time: '8m',
          alertname: 'KinesisRelayTargetDown',
          exp_alerts: [
            {
              exp_labels: { severity: 'warning', instance: 'relay-0:9464', job: 'kinesis-relay' },
              exp_annotations: {
                summary: 'kinesis-relay target relay-0:9464 is down',
                description:
                  'Prometheus has not scraped relay-0:9464 for 5 minutes; its leases move to the other replicas after leases.failoverMs.',
              },
            },
          ],
        },
      ],
    );
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });
});
