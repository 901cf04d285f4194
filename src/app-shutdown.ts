import type { Server } from 'node:http';
import type { RunningShards } from './app-running-shards.js';
import type { StreamRuntime } from './app-streams.js';
import { monotonicNow } from './core/clock.js';
import { errorMessage } from './core/errors.js';
import { withinMs } from './core/within-ms.js';
import { destroyAwsClients, type AwsClients } from './kinesis/clients.js';
import type { LeaseCoordinator } from './leases/lease-coordinator.js';
import type { LeaseRenewer } from './leases/lease-renewer.js';
import type { Logger } from './observability/logger.js';
import type { DecodePool } from './pipeline/workers/decode-pool.js';
import type { SinkSet } from './sinks/create-sinks.js';

const CLOSE_GRACE_MS = 2000;
/** How long a stopping replica watches the workers it gave leases take them. */
const RELEASE_CONFIRM_INTERVALS = 4;

/** What a stop winds down, in the order of the steps. */
export interface ShutdownParts {
  readonly log: Logger;
  /** `shutdown.timeoutMs`: the whole budget. */
  readonly timeoutMs: number;
  /** The renew (and claim) interval. */
  readonly renewIntervalMs: number;
  readonly coordinator: LeaseCoordinator;
  readonly renewer: LeaseRenewer;
  readonly shards: RunningShards;
  readonly sinkSet: SinkSet;
  readonly streams: readonly StreamRuntime[];
  readonly decodePool: DecodePool | null;
  /** Read when it is closed: a stop may begin while the relay is still starting. */
  readonly server: () => Server | undefined;
  /** The AWS clients the relay made (closed here); null: the caller's own, left open. */
  readonly ownClients: AwsClients | null;
}

/**
 * Stop reading, flush every sink, checkpoint what they acknowledged, release the leases
 * so another replica resumes at once. Returns false if it did not finish in time.
 */
export async function shutDown(parts: ShutdownParts): Promise<boolean> {
  const { log, timeoutMs } = parts;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  // Room at the end of the budget for the steps after the lease releases.
  const stopDeadline = monotonicNow() + timeoutMs - CLOSE_GRACE_MS;
  const clean = await Promise.race([shutdownSteps(parts, stopDeadline).then(() => true), timedOut]);
  clearTimeout(timer);
  parts.renewer.stop();
  if (!clean)
    log.error(
      { timeoutMs },
      'shutdown did not finish in time; unacknowledged records will be read again',
    );
  // After a timed-out shutdown a sink may still wait on a request that never answers:
  // give closing a short grace, then exit anyway (the unacknowledged records are re-read).
  if (clean) {
    await closeResources(parts);
  } else {
    await withinMs(closeResources(parts), CLOSE_GRACE_MS);
    parts.server()?.closeAllConnections();
    if (parts.ownClients) destroyAwsClients(parts.ownClients);
    for (const stream of parts.streams) stream.ownClient?.destroy();
  }
  return clean;
}

async function shutdownSteps(parts: ShutdownParts, stopDeadline: number): Promise<void> {
  const { log, coordinator, shards, sinkSet } = parts;
  // Stop taking and syncing, but keep renewing the held leases until each one's final
  // checkpoint and release are written: a flush longer than the failover time must
  // not let another worker take a lease (and re-read its shard) before that.
  await step(log, 'stop taking leases', () => coordinator.stop());
  await shards.stopAll();
  await step(log, 'flush sinks', () =>
    Promise.all([...sinkSet.sinks.map(({ sink }) => sink.flush()), sinkSet.deadLetter.flush()]),
  );
  // A sink that gave up dead-letters its batch: flush the dead-letter writer once more.
  await step(log, 'flush dead-letter', () => sinkSet.deadLetter.flush());
  await step(log, 'checkpoint', () => shards.checkpointAll());
  await step(log, 'release leases', () => coordinator.releaseAll());
  // A lease given to a replica that is stopping too is passed on: a few claim intervals,
  // within the shutdown budget.
  const claimIntervalMs = parts.renewIntervalMs;
  const deadline = Math.min(
    stopDeadline,
    monotonicNow() + RELEASE_CONFIRM_INTERVALS * claimIntervalMs,
  );
  await step(log, 'see released leases taken', () => coordinator.confirmReleases(deadline));
  parts.renewer.stop();
  coordinator.updateOwnedGauge();
  log.info({ shards: shards.size }, 'kinesis-relay stopped cleanly');
}

async function closeResources(parts: ShutdownParts): Promise<void> {
  const { sinkSet } = parts;
  await Promise.allSettled(sinkSet.sinks.map(({ sink }) => sink.close()));
  for (const stream of parts.streams) {
    stream.fanout?.close();
    stream.ownClient?.destroy();
  }
  await sinkSet.deadLetter.close().catch(() => undefined);
  await parts.decodePool?.close().catch(() => undefined);
  const server = parts.server();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  if (parts.ownClients) destroyAwsClients(parts.ownClients);
}

async function step(log: Logger, name: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    log.error({ step: name, err: errorMessage(error) }, 'shutdown step failed');
  }
}
