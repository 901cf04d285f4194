import type { RelayConfig } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import { createFanoutKinesisClient } from './fanout-client.js';
import { SubscriptionReader } from './subscription-reader.js';

/** The fan-out record source of a relay, and the client it owns. */
export interface FanoutSource {
  readonly reader: SubscriptionReader;
  close(): void;
}

/** Null in polling mode (config `consumer.mode`). */
export function createFanoutSource(config: RelayConfig, log: Logger): FanoutSource | null {
  if (config.consumer.mode !== 'fanout') return null;
  const { fanout } = config.consumer;
  const client = createFanoutKinesisClient({
    region: config.aws.region,
    protocol: fanout.protocol,
  });
  return {
    reader: new SubscriptionReader({
      client,
      stream: config.stream.name,
      consumerName: fanout.consumerName ?? config.application,
      log: log.child({ component: 'fanout' }),
    }),
    close: () => client.destroy(),
  };
}
