import { randomUUID } from 'node:crypto';
import { redactWebhookUrl } from '../../config/redact.js';
import type { WebhookSinkConfig } from '../../config/schema.js';
import type { AckHandle } from '../../core/ack.js';
import type { RelayEvent } from '../../core/event.js';
import type { UserRecord } from '../../core/record.js';
import type { MemoryBudget } from '../../core/memory-budget.js';
import type { Logger } from '../../observability/logger.js';
import type { RelayMetrics } from '../../observability/metrics.js';
import { deliverBatch, type BatchDeliveryContext } from '../batch-delivery.js';
import { SingleBatchSink } from '../batching-sink.js';
import type { PendingBatch } from '../pending-batch.js';
import type { DeadLetterSink, PreEncodedEvent } from '../sink.js';
import { webhookDocument } from './webhook-document.js';
import { payloadBody } from './request-body.js';
import type { WebhookClient } from './webhook-client.js';

export interface WebhookSinkDeps {
  readonly client: WebhookClient;
  readonly deadLetter: DeadLetterSink | null;
  readonly metrics: RelayMetrics;
  readonly log: Logger;
  /** The process's memory budget, which this sink's in-flight bytes draw from. */
  readonly memory?: MemoryBudget;
  readonly now?: () => number;
}

/**
 * POSTs batches of normalized events, up to `maxConcurrency` at once. With `ordering:
 * partitionKey` (the default) events are spread over `maxConcurrency` lanes by partition
 * key, each lane with one request in flight at a time: events of one partition key arrive
 * in shard order, as with Lambda's ParallelizationFactor, while several batches of one
 * shard are in flight. Each request keeps its id and bytes across retries, so a receiver
 * can de-duplicate a retry whose first attempt it did process. A refused batch (413, 400)
 * is bisected until the parts fit or the events at fault are alone (in order).
 */
export class WebhookSink extends SingleBatchSink {
  private readonly delivery: BatchDeliveryContext;
  private readonly now: () => number;
  /** The endpoint as log lines name it: scheme, host and port (its path may be its key). */
  private readonly shownUrl: string;

  constructor(
    private readonly config: WebhookSinkConfig,
    private readonly deps: WebhookSinkDeps,
  ) {
    super(config.name, {
      buffer: config.buffer,
      maxInFlightBytes: config.maxInFlightBytes,
      concurrency: config.maxConcurrency,
      orderedKeys: config.ordering === 'partitionKey',
      growWhileBusy: true,
      metrics: deps.metrics,
      memory: deps.memory,
      now: deps.now,
    });
    this.now = deps.now ?? Date.now;
    this.shownUrl = redactWebhookUrl(config.url);
    this.delivery = { sink: config.name, retry: config.retry, ...deps };
  }

  /** Without a dead-letter destination a batch is retried for ever: no entry needs the bytes. */
  protected override keepsRecordData(): boolean {
    return this.deps.deadLetter !== null;
  }

  protected override laneOf(record: UserRecord): string {
    if (this.config.ordering !== 'partitionKey') return '';
    return LANE_NAMES[laneIndex(record.partitionKey, this.config.maxConcurrency)] ?? '';
  }

  protected encode(event: RelayEvent): Buffer {
    return Buffer.from(webhookDocument(event));
  }

  /** An event a decode worker encoded with `webhookDocument` (src/pipeline/workers). */
  writeEncoded(encoded: PreEncodedEvent, record: UserRecord, ack: AckHandle): void {
    this.add(Buffer.from(encoded.line), record, ack);
  }

  protected async deliver(batch: PendingBatch<Buffer>): Promise<void> {
    const stopTimer = this.deps.metrics.sinkBatchDuration.startTimer({ sink: this.name });
    await this.post(batch);
    stopTimer();
  }

  protected release(): Promise<void> {
    return this.deps.client.close();
  }

  /**
   * POSTs the batch; a batch the receiver refuses (413 too large, 400/409/422) or that runs
   * out of `retry.maxAttempts` is bisected, and the halves are posted in order, down to
   * the single events at fault, which alone are dead-lettered. The halves share the
   * batch's time budget, so bisection never extends how long a shard can be held.
   */
  // `startedAt` is on the retry policy's clock (Date.now), not the injected request clock.
  private async post(batch: PendingBatch<Buffer>, startedAt = Date.now()): Promise<void> {
    const { client } = this.deps;
    const requestId = randomUUID();
    const payload = await client.encode({
      requestId,
      body: payloadBody(this.config.format, requestId, batch.items, this.now()),
    });
    const describe = { requestId, url: this.shownUrl };
    const result = await deliverBatch(
      this.delivery,
      batch,
      describe,
      async () => {
        await client.send(payload);
        return payload.body.byteLength;
      },
      { bisect: true, startedAt },
    );
    if (result === 'split') {
      const half = Math.ceil(batch.size / 2);
      await this.post(batch.slice(0, half), startedAt);
      await this.post(batch.slice(half, batch.size), startedAt);
    }
  }
}

/** Lane names built once: the lane key is looked up for every event. */
const LANE_NAMES = Array.from({ length: 256 }, (_, index) => String(index));

/** FNV-1a over the key's UTF-16 code units: a stable spread of partition keys over lanes. */
export function laneIndex(partitionKey: string, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < partitionKey.length; index += 1) {
    hash ^= partitionKey.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % lanes;
}
