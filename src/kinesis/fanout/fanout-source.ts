import type { KinesisClientConfig } from '@aws-sdk/client-kinesis';
import type { RelayConfig } from '../../config/schema.js';
import type { Logger } from '../../observability/logger.js';
import { createFanoutKinesisClient } from './fanout-client.js';
import { SubscriptionReader } from './subscription-reader.js';

/** The fan-out record source of a relay, and the client it owns. */
export interface FanoutSource {
  readonly reader: SubscriptionReader;
  close(): void;
}

/**
 * One stream's fan-out source (each stream registers the consumer name on its own);
 * null in polling mode (config `consumer.mode`).
 */
export function createFanoutSource(
  config: RelayConfig,
  stream: string,
  log: Logger,
  credentials?: KinesisClientConfig['credentials'],
): FanoutSource | null {
  if (config.consumer.mode !== 'fanout') return null;
  const { fanout } = config.consumer;
  const client = createFanoutKinesisClient({
    region: config.aws.region,
    protocol: fanout.protocol,
    credentials,
  });
  return {
    reader: new SubscriptionReader({
      client,
      stream,
      consumerName: fanout.consumerName ?? config.application,
      log: log.child({ component: 'fanout' }),
    }),
    close: () => client.destroy(),
  };
}
