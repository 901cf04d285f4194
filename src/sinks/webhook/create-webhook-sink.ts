import type { WebhookSinkConfig } from '../../config/schema.js';
import type { MemoryBudget } from '../../core/memory-budget.js';
import type { Logger } from '../../observability/logger.js';
import type { RelayMetrics } from '../../observability/metrics.js';
import type { DeadLetterSink } from '../sink.js';
import { WebhookClient } from './webhook-client.js';
import { WebhookSink } from './webhook-sink.js';

export function createWebhookSink(
  config: WebhookSinkConfig,
  wiring: {
    deadLetter: DeadLetterSink | null;
    metrics: RelayMetrics;
    log: Logger;
    memory?: MemoryBudget;
  },
): WebhookSink {
  return new WebhookSink(config, { client: new WebhookClient(config), ...wiring });
}
