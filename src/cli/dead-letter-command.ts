import { decoderOptions } from '../app-pipeline.js';
import type { RelayConfig } from '../config/schema.js';
import type { SourceFormat } from '../core/event.js';
import { UsageError } from '../core/errors.js';
import { createDecoder, csvShapeFor } from '../decode/index.js';
import { createAwsClients, destroyAwsClients } from '../kinesis/clients.js';
import type { Logger } from '../observability/logger.js';
import {
  createMetrics,
  sinkDeadLetterCounter,
  type RelayMetrics,
} from '../observability/metrics.js';
import { Router } from '../pipeline/router.js';
import { ShardPipeline } from '../pipeline/shard-pipeline.js';
import {
  directoryDeadLetterSource,
  s3DeadLetterSource,
  type DeadLetterFile,
} from '../replay/dead-letter-source.js';
import {
  entryMatches,
  parseDeadLetterLine,
  recordFromEntry,
  type ReplayFilter,
} from '../replay/replay-entry.js';
import { SettlementTracker } from '../replay/settlement-tracker.js';
import { createSinks } from '../sinks/create-sinks.js';
import { defaultDeadLetterDirectory } from '../sinks/dead-letter/stores.js';
import type { DeadLetterEntry, DeadLetterSink } from '../sinks/sink.js';

export interface ReplayOptions {
  /** Send everything to this sink only (its filter still applies). */
  readonly sink?: string;
  /** Decode with this format instead of `decode.format` (e.g. after fixing a mislabelled stream). */
  readonly format?: SourceFormat | 'auto';
  readonly filter: ReplayFilter;
  readonly dryRun: boolean;
  /** Remove each dead-letter file once every entry in it was replayed and settled. */
  readonly deleteReplayed: boolean;
  readonly say: (line: string) => void;
}

interface FilePlan {
  readonly file: DeadLetterFile;
  readonly entries: DeadLetterEntry[];
  /** Unreadable lines, or entries left out by the filter: such a file is never deleted. */
  readonly complete: boolean;
}

/**
 * `kinesis-relay dead-letter replay`: reads the configured dead-letter destination and sends
 * its records through decode → route → sinks again. A decode failure goes to every sink
 * whose filter accepts the event (or to `--sink`); a batch a sink gave up on or that it
 * rejected goes back to that sink only, since the others already have it. What fails again
 * is dead-lettered again, as new entries. Returns the exit code: 0 when everything
 * replayed was delivered, 1 when something failed again, was left undelivered, or a line
 * was unreadable.
 */
export async function replayDeadLetters(
  config: RelayConfig,
  options: ReplayOptions,
  log: Logger,
): Promise<number> {
  const destination = config.deadLetter;
  if (!destination) {
    throw new UsageError(
      `deadLetter: not configured; entries went to ${defaultDeadLetterDirectory()}: to replay them, set deadLetter to {type: directory, path: ${defaultDeadLetterDirectory()}}`,
    );
  }
  const sinkNames = config.sinks.map((sink) => sink.name);
  if (options.sink && !sinkNames.includes(options.sink)) {
    throw new UsageError(
      `--sink: no sink named '${options.sink}' (sinks: ${sinkNames.join(', ')})`,
    );
  }
  const clients = createAwsClients({
    region: config.aws.region,
    idleTimeoutMs: config.aws.idleTimeoutMs,
  });
  try {
    const source =
      destination.type === 's3'
        ? s3DeadLetterSource(clients.s3, destination.bucket, destination.prefix)
        : directoryDeadLetterSource(destination.path);
    const { plans, unreadable } = await planReplay(await source.list(), options.filter, log);
    const entries = plans.flatMap((plan) => plan.entries);
    options.say(
      `${source.description}: ${entries.length} entries to replay from ${plans.length} files` +
        (unreadable > 0 ? `, ${unreadable} unreadable lines left in place` : ''),
    );
    if (options.dryRun) {
      for (const [key, count] of countBy(entries, describeTarget)) {
        options.say(`  ${count} × ${key}`);
      }
      return unreadable > 0 ? 1 : 0;
    }

    const metrics = createMetrics();
    const sinkSet = createSinks(config, { s3: clients.s3, csvShapeFor, metrics, log });
    // The ids the shard loop gave the record's events (the stream is in them with `streams:`).
    const decoder = createDecoder(options.format ?? config.decode.format, decoderOptions(config));
    const tracker = new SettlementTracker();
    const tracked = new Map(sinkSet.sinks.map(({ sink }) => [sink, tracker.track(sink)]));
    // Counts what routing itself dead-letters (a record that fails to decode again, or that
    // a sink cannot take): with the tracker, it tells a record no sink's filter took.
    let routedToDeadLetter = 0;
    const deadLetter: DeadLetterSink = {
      write: (entry, ack) => {
        routedToDeadLetter += 1;
        sinkSet.deadLetter.write(entry, ack);
      },
      waitForCapacity: () => sinkSet.deadLetter.waitForCapacity(),
      flush: () => sinkSet.deadLetter.flush(),
      close: () => sinkSet.deadLetter.close(),
    };
    const pipelines = new Map<string, ShardPipeline>();
    const pipelineFor = (names: readonly string[]) => {
      const key = names.join('\n');
      let pipeline = pipelines.get(key);
      if (!pipeline) {
        const router = new Router(
          sinkSet.sinks
            .filter(({ config: sinkConfig }) => names.includes(sinkConfig.name))
            .map(({ sink, config: sinkConfig }) => ({
              sink: tracked.get(sink) ?? sink,
              eventTypes: sinkConfig.filter.eventTypes,
              formats: sinkConfig.filter.formats,
              // As the relay routes: a record of one stream never reaches another's sink.
              streams: sinkConfig.filter.streams,
            })),
        );
        pipeline = new ShardPipeline(
          decoder,
          router,
          deadLetter,
          null,
          sinkDeadLetterCounter(metrics),
        );
        pipelines.set(key, pipeline);
      }
      return pipeline;
    };
    const deadLetteredBefore = await deadLetteredTotal(metrics);
    let skipped = 0;
    let repeated = 0;
    // Records whose events no target sink's filter took: sent nowhere, so not delivered.
    const unrouted = new Set<string>();
    // A sink dead-letters one entry per event, so a record that decoded into several events
    // (a Mobile Analytics batch) has several entries: replay it once per target.
    const sent = new Set<string>();
    const shards = new Set<string>();
    for (const entry of entries) {
      const targets = targetSinks(entry, options.sink, sinkNames);
      if (targets.length === 0) {
        skipped += 1;
        log.warn({ sink: entry.sink }, 'entry names a sink that is no longer configured; skipped');
        continue;
      }
      const key = replayKey(entry, options.sink, sinkNames);
      if (sent.has(key)) {
        repeated += 1;
        continue;
      }
      sent.add(key);
      shards.add(entry.shardId);
      const record = recordFromEntry(entry);
      const deadLetteredThen = routedToDeadLetter;
      await pipelineFor(targets).process([record]);
      if (!tracker.handedOver(record) && routedToDeadLetter === deadLetteredThen) {
        unrouted.add(key);
        log.warn(
          { shardId: entry.shardId, sequenceNumber: entry.sequenceNumber, sinks: targets },
          'no sink filter takes the replayed record; its entry is kept',
        );
      }
    }
    // Nothing more of these shards comes in this process: a sink that holds a shard's
    // batch open until the shard moves on (exactly-once S3) writes it now, complete as it
    // stands; otherwise its flush leaves it for a reader that never comes.
    for (const { sink } of sinkSet.sinks) for (const shardId of shards) sink.endOfShard?.(shardId);
    await Promise.all(sinkSet.sinks.map(({ sink }) => sink.flush()));
    await sinkSet.deadLetter.flush();
    await Promise.all(sinkSet.sinks.map(({ sink }) => sink.close()));
    await sinkSet.deadLetter.close();
    // Everything was written or given up by now; what is still unacknowledged never will be
    // (waiting for it would only let the process run out of work and exit as if it were done).
    const undelivered = tracker.unsettledRecords;

    const failedAgain = (await deadLetteredTotal(metrics)) - deadLetteredBefore;
    const replayed = entries.length - skipped - repeated;
    options.say(
      `replayed ${replayed}: ${Math.max(0, replayed - failedAgain - undelivered - unrouted.size)} delivered, ${failedAgain} dead-lettered again` +
        (undelivered > 0 ? `, ${undelivered} NOT delivered (still in the dead-letter files)` : '') +
        (unrouted.size > 0
          ? `, ${unrouted.size} taken by no sink (their filters; still in the dead-letter files)`
          : '') +
        (repeated > 0 ? `, ${repeated} entries for a record already replayed` : '') +
        (skipped > 0 ? `, ${skipped} skipped (their sink is no longer configured)` : ''),
    );
    if (undelivered > 0) {
      log.error(
        { records: undelivered },
        'replay ended with records neither delivered nor dead-lettered',
      );
      return 1;
    }
    if (options.deleteReplayed && skipped === 0) {
      const replayedWhole = (plan: FilePlan) =>
        plan.complete &&
        plan.entries.every((one) => !unrouted.has(replayKey(one, options.sink, sinkNames)));
      for (const plan of plans.filter(replayedWhole)) {
        const owed = owedElsewhere(plan.entries, options.sink, sinkNames);
        if (owed.length > 0) {
          options.say(
            `  kept ${plan.file.name}: its entries are also owed to ${owed.join(', ')}, which this replay (--sink ${options.sink ?? ''}) did not send to`,
          );
          continue;
        }
        await plan.file.remove();
        options.say(`  removed ${plan.file.name}`);
      }
    }
    return failedAgain > 0 || unreadable > 0 || skipped > 0 || unrouted.size > 0 ? 1 : 0;
  } finally {
    destroyAwsClients(clients);
  }
}

async function planReplay(files: readonly DeadLetterFile[], filter: ReplayFilter, log: Logger) {
  const plans: FilePlan[] = [];
  let unreadable = 0;
  for (const file of files) {
    const entries: DeadLetterEntry[] = [];
    let complete = true;
    for (const [index, line] of (await file.read()).split('\n').entries()) {
      if (!line.trim()) continue;
      const parsed = parseDeadLetterLine(line);
      if (!parsed.ok) {
        unreadable += 1;
        complete = false;
        log.error(
          { file: file.name, line: index + 1, err: parsed.error },
          'unreadable dead-letter line',
        );
      } else if (entryMatches(parsed.entry, filter)) {
        entries.push(parsed.entry);
      } else {
        complete = false;
      }
    }
    if (entries.length > 0) plans.push({ file, entries, complete });
  }
  return { plans, unreadable };
}

/**
 * One replay per record and target sinks: entries of several events of a record share it.
 * The stream is part of a record's identity: streams number their shards alike.
 */
function replayKey(
  entry: DeadLetterEntry,
  chosen: string | undefined,
  configured: readonly string[],
): string {
  const targets = targetSinks(entry, chosen, configured);
  return `${entry.stream}/${entry.shardId}/${entry.sequenceNumber}/${entry.subSequenceNumber}>${targets.join(',')}`;
}

/**
 * The sinks other than `--sink` that entries were meant for (a decode failure: every
 * sink; a sink's failure: that sink). With `--sink`, they got nothing from this replay, so
 * deleting the file would lose the entries for them.
 */
function owedElsewhere(
  entries: readonly DeadLetterEntry[],
  chosen: string | undefined,
  configured: readonly string[],
): string[] {
  if (!chosen) return [];
  const owed = new Set(entries.flatMap((entry) => targetSinks(entry, undefined, configured)));
  owed.delete(chosen);
  return [...owed];
}

function targetSinks(
  entry: DeadLetterEntry,
  chosen: string | undefined,
  configured: readonly string[],
): string[] {
  if (chosen) return [chosen];
  if (entry.reason === 'decode_failed' || entry.sink === null) return [...configured];
  return configured.includes(entry.sink) ? [entry.sink] : [];
}

function describeTarget(entry: DeadLetterEntry): string {
  return entry.sink ? `${entry.reason} (sink ${entry.sink})` : entry.reason;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

async function deadLetteredTotal(metrics: RelayMetrics): Promise<number> {
  const { values } = await metrics.deadLetterRecords.get();
  return values.reduce((sum, sample) => sum + sample.value, 0);
}
