import type { S3Client } from '@aws-sdk/client-s3';
import {
  configuredStreams,
  fedByStreams,
  DEFAULT_DEAD_LETTER_MAX_IN_FLIGHT_BYTES,
  type RelayConfig,
} from '../config/schema.js';
import type { CsvShapeResolver } from '../core/csv-shape.js';
import type { MemoryBudget } from '../core/memory-budget.js';
import type { Logger } from '../observability/logger.js';
import {
  setSinkProgressGrace,
  zeroSinkSeries,
  type RelayMetrics,
} from '../observability/metrics.js';
import { DeadLetterWriter } from './dead-letter/dead-letter-writer.js';
import {
  defaultDeadLetterDirectory,
  directoryDeadLetterStore,
  s3DeadLetterStore,
} from './dead-letter/stores.js';
import { EventEncoder } from './s3/event-encoder.js';
import { KeyLayout } from './s3/key-layout.js';
import { s3EncodingSettings } from './s3/encoding-settings.js';
import { createRedshiftSink } from './redshift/create-redshift-sink.js';
import { createS3Sink } from './s3/create-s3-sink.js';
import type { DeadLetterSink, Sink } from './sink.js';
import { createWebhookSink } from './webhook/create-webhook-sink.js';

export interface SinkSet {
  readonly sinks: ReadonlyArray<{ sink: Sink; config: RelayConfig['sinks'][number] }>;
  readonly deadLetter: DeadLetterSink;
}

/** Builds the configured sinks and the dead-letter destination they give up to. */
export function createSinks(
  config: RelayConfig,
  deps: {
    s3: S3Client;
    csvShapeFor: CsvShapeResolver;
    metrics: RelayMetrics;
    log: Logger;
    /** The process's budget: every sink and the dead-letter writer hold within it. */
    memory?: MemoryBudget;
  },
): SinkSet {
  const { s3, metrics, log, memory } = deps;
  const configured = config.deadLetter;
  const store = !configured
    ? unconfiguredStore(log)
    : configured.type === 's3'
      ? s3DeadLetterStore(s3, configured.bucket, configured.prefix)
      : directoryDeadLetterStore(configured.path);
  const deadLetter = new DeadLetterWriter(
    store,
    metrics,
    log.child({ component: 'dead-letter' }),
    configured?.maxInFlightBytes ?? DEFAULT_DEAD_LETTER_MAX_IN_FLIGHT_BYTES,
    memory,
  );
  const sinks = config.sinks.map((sinkConfig) => {
    // Every sink's series exist from the start, so rate() and the alerts see a quiet sink.
    zeroSinkSeries(metrics, sinkConfig.name);
    const sinkDeps = {
      s3,
      deadLetter: configured ? deadLetter : null,
      metrics,
      memory,
      log: log.child({ sink: sinkConfig.name }),
    };
    if (sinkConfig.type === 'redshift') {
      // A row that can never fit its table goes to the writer even without a destination.
      const redshift = createRedshiftSink(sinkConfig, {
        ...sinkDeps,
        rejects: deadLetter,
        keyedByStream:
          fedByStreams(sinkConfig.filter.streams, configuredStreams(config).length) > 1,
      });
      return { sink: redshift, config: sinkConfig };
    }
    if (sinkConfig.type === 'webhook') {
      return { sink: createWebhookSink(sinkConfig, sinkDeps), config: sinkConfig };
    }
    const encoding = s3EncodingSettings(sinkConfig);
    const sink = createS3Sink(sinkConfig, config.decode.format, {
      s3,
      layout: new KeyLayout({ ...encoding.layout, resolveShape: deps.csvShapeFor }),
      encoder: new EventEncoder(encoding.format, encoding.verbatimJson, deps.csvShapeFor),
      // Only a real destination may take batches the sink gives up on; otherwise retry on.
      deadLetter: configured ? deadLetter : null,
      metrics,
      memory,
      log: log.child({ sink: sinkConfig.name }),
    });
    return { sink, config: sinkConfig };
  });
  for (const { config: sinkConfig } of sinks) {
    // An open batch waits up to maxAgeMs with nothing finished: not a stall. The
    // exactly-once sink counts only cut objects against its gate, so it waits for nothing.
    const opensBatches = !(sinkConfig.type === 's3' && sinkConfig.exactlyOnce);
    setSinkProgressGrace(metrics, sinkConfig.name, opensBatches ? sinkConfig.buffer.maxAgeMs : 0);
  }
  return { sinks, deadLetter };
}

/**
 * No destination configured: entries still need a home (a record that cannot be decoded
 * has no other), so a local directory, said loudly at start. Sinks still retry failing
 * batches for ever: a local directory is no place to give up whole batches to.
 */
function unconfiguredStore(log: Logger) {
  const path = defaultDeadLetterDirectory();
  log.warn(
    { path },
    'no deadLetter configured: undecodable records and rows a sink can never take are written to a local directory (lost with the pod); configure deadLetter for production',
  );
  return directoryDeadLetterStore(path);
}
