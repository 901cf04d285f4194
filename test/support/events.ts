import type { AckHandle } from '../../src/core/ack.js';
import type { RelayEvent } from '../../src/core/event.js';
import { positionId } from '../../src/decode/record-id.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import type { DeadLetterEntry, DeadLetterSink, Sink } from '../../src/sinks/sink.js';

/**
 * `count` normalized events over `shards` shards, as the decoders produce them. Every
 * `perRecord`-th record carries several events (one Kinesis record, many events), so the
 * merge key's event id matters. Positions and ids are stable: the same call gives the
 * same events, which is what a replay after a crash looks like to a sink.
 */
export function testEvents(
  count: number,
  options: { shards?: number; perRecord?: number } = {},
): RelayEvent[] {
  const shards = options.shards ?? 4;
  const perRecord = options.perRecord ?? 3;
  const events: RelayEvent[] = [];
  let sequence = 0n;
  while (events.length < count) {
    sequence += 1n;
    const shard = Number(sequence % BigInt(shards));
    const inRecord = sequence % 10n === 0n ? perRecord : 1;
    const record = {
      streamName: 'events',
      shardId: `shardId-${String(shard).padStart(12, '0')}`,
      sequenceNumber: (
        49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898n + sequence
      ).toString(),
      subSequenceNumber: 0,
      partitionKey: `pk-${sequence}`,
      aggregated: false,
      approximateArrivalTimestamp: new Date(Date.UTC(2026, 10, 22, 12, 0, 0) + Number(sequence)),
      data: Buffer.from(`{"n":${events.length}}`),
    };
    for (let index = 0; index < inRecord && events.length < count; index += 1) {
      const n = events.length;
      events.push({
        id: inRecord > 1 ? positionId(record, index) : positionId(record),
        type: n % 2 === 0 ? 'OPEN' : 'CUSTOM',
        occurred: new Date(Date.UTC(2026, 10, 22, 11, 0, 0) + n).toISOString(),
        format: 'json',
        appId: 'app-1',
        deviceId: `device-${n % 97}`,
        userId: n % 5 === 0 ? null : `user-${n}`,
        attributes: { campaign: `c-${n % 7}`, quote: 'say "hi", then leave' },
        metrics: { price: n / 100 },
        original: { n, text: `event ${n}\nwith a newline` },
        record,
      });
    }
  }
  return events;
}

/** Ack handles that count, and notice a double acknowledgement (a sink bug). */
export class AckCounter {
  acked = 0;
  doubles = 0;

  handle(): AckHandle {
    let done = false;
    return {
      ack: () => {
        if (done) this.doubles += 1;
        done = true;
        this.acked += 1;
      },
    };
  }
}

export function quietSinkDeps() {
  return { metrics: createMetrics(), log: createLogger('silent') };
}

/** The value of one counter or gauge sample, summed over the label values given. */
export async function metricValue(
  metrics: ReturnType<typeof createMetrics>,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? [])
    .filter((sample) => Object.entries(labels).every(([k, v]) => sample.labels[k] === v))
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** A dead-letter destination that keeps entries in memory and acknowledges at once. */
export class CollectedDeadLetters implements DeadLetterSink {
  readonly entries: DeadLetterEntry[] = [];

  write(entry: DeadLetterEntry, ack: AckHandle): void {
    this.entries.push(entry);
    ack.ack();
  }

  waitForCapacity(): undefined {
    return undefined;
  }

  flush = async (): Promise<void> => undefined;
  close = async (): Promise<void> => undefined;
}

/** Writes the events as a shard loop would (waiting on backpressure), then flushes. */
export async function writeAll(
  sink: Sink,
  events: readonly RelayEvent[],
  acks: AckCounter,
): Promise<void> {
  for (const event of events) {
    sink.write(event, acks.handle());
    const wait = sink.waitForCapacity();
    if (wait) await wait;
  }
  await sink.flush();
}
