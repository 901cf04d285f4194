import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isS3Sink, type RelayConfig } from './config/schema.js';
import { LeaseCoordinator } from './leases/lease-coordinator.js';
import type { LeaseListener } from './leases/lease-listener.js';
import { LeaseRenewer } from './leases/lease-renewer.js';
import { LeaseStore } from './leases/lease-store.js';
import type { LeaseStream } from './leases/stream-scopes.js';
import type { Logger } from './observability/logger.js';
import type { RelayMetrics } from './observability/metrics.js';

/** The lease side of a relay: the table, the renewals, the taking and balancing. */
export interface LeaseParts {
  readonly store: LeaseStore;
  readonly renewer: LeaseRenewer;
  readonly coordinator: LeaseCoordinator;
  /** Also the claim interval. */
  readonly renewIntervalMs: number;
}

/** The lease store, renewer and coordinator, with the timings of `config.leases`. */
export function createLeaseParts(
  config: RelayConfig,
  deps: {
    readonly workerId: string;
    readonly dynamo: DynamoDBDocumentClient;
    readonly streams: readonly LeaseStream[];
    readonly listener: LeaseListener;
    readonly log: Logger;
    readonly metrics: RelayMetrics;
  },
): LeaseParts {
  const { workerId, log } = deps;
  const failoverMs = config.leases.failoverMs;
  const renewIntervalMs = config.leases.renewIntervalMs ?? Math.floor(failoverMs / 3);
  // Every lease call, retries included, ends within a renew interval: a hung DynamoDB
  // connection costs one renewal, and a failed renewal is retried well before failover.
  const store = new LeaseStore(deps.dynamo, config.leases.table ?? config.application, {
    callTimeoutMs: renewIntervalMs,
  });
  // An exactly-once S3 sink must drop a shard's open segment before another worker
  // could own the shard (its idle flush would race the new owner's object): no pause.
  const exactlyOnce = config.sinks.some((sink) => isS3Sink(sink) && sink.exactlyOnce);
  const renewer = new LeaseRenewer(
    store,
    {
      workerId,
      failoverMs,
      renewIntervalMs,
      maxPauseMs: exactlyOnce ? 0 : Number.POSITIVE_INFINITY,
    },
    log.child({ component: 'lease-renewer' }),
  );
  const coordinator = new LeaseCoordinator(
    store,
    renewer,
    {
      workerId,
      streams: deps.streams,
      failoverMs,
      takeIntervalMs: config.leases.takeIntervalMs ?? failoverMs * 2,
      claimIntervalMs: renewIntervalMs,
      shardSyncIntervalMs: config.leases.shardSyncIntervalMs,
      maxLeasesPerWorker: config.leases.maxLeasesPerWorker,
    },
    deps.listener,
    log.child({ component: 'leases' }),
    deps.metrics,
  );
  return { store, renewer, coordinator, renewIntervalMs };
}
