import type { AckHandle } from '../core/ack.js';
import type { RelayEvent } from '../core/event.js';
import type { UserRecord } from '../core/record.js';
import type { Sink } from '../sinks/sink.js';

/**
 * Counts, per replayed record, the events handed to sinks that are not yet acknowledged
 * (delivered or dead-lettered). A replay reports from these counts after every sink was
 * flushed and closed, instead of waiting for an acknowledgement that may never come.
 */
export class SettlementTracker {
  private readonly outstanding = new Map<string, number>();
  /** Records of which some event was handed to a tracked sink. */
  private readonly handed = new Set<string>();

  /** `sink`, with every event it is given counted until its handle is called. */
  track(sink: Sink): Sink {
    const begin = (event: RelayEvent): AckHandle => {
      const key = recordKey(event.record);
      this.handed.add(key);
      this.outstanding.set(key, (this.outstanding.get(key) ?? 0) + 1);
      let settled = false;
      return {
        ack: () => {
          if (settled) return;
          settled = true;
          const left = (this.outstanding.get(key) ?? 1) - 1;
          if (left > 0) this.outstanding.set(key, left);
          else this.outstanding.delete(key);
        },
      };
    };
    return {
      name: sink.name,
      write: (event, ack) => {
        const counted = begin(event);
        try {
          sink.write(event, {
            ack: () => {
              counted.ack();
              ack.ack();
            },
          });
        } catch (error) {
          // The sink did not take it: the pipeline dead-letters it with its own handle.
          counted.ack();
          throw error;
        }
      },
      waitForCapacity: () => sink.waitForCapacity(),
      flush: () => sink.flush(),
      cutOpenBatches: () => sink.cutOpenBatches?.(),
      close: () => sink.close(),
      endOfShard: (shardId) => sink.endOfShard?.(shardId),
    };
  }

  /** Whether any event of the record was handed to a tracked sink (a sink's filter took it). */
  handedOver(record: UserRecord): boolean {
    return this.handed.has(recordKey(record));
  }

  /** Records with at least one event no sink has settled yet. */
  get unsettledRecords(): number {
    return this.outstanding.size;
  }
}

/** With the stream: several streams number their shards alike. */
function recordKey(record: UserRecord): string {
  return `${record.streamName}/${record.shardId}/${record.sequenceNumber}/${record.subSequenceNumber}`;
}
