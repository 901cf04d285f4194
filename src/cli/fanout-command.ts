import type { Command } from 'commander';
import { configuredStreams, type RelayConfig } from '../config/schema.js';
import { deregisterStreamConsumer } from '../kinesis/fanout/consumer-registration.js';
import { createFanoutKinesisClient } from '../kinesis/fanout/fanout-client.js';
import { streamCredentials } from '../kinesis/stream-credentials.js';

/**
 * Removes the stream consumer the fan-out mode registered: AWS bills a registered consumer
 * per shard-hour whether or not anything subscribes, so one no longer used costs money.
 * Exit 0 when it was removed or was not registered.
 */
export async function deregisterFanoutConsumer(
  config: RelayConfig,
  say: (line: string) => void,
): Promise<number> {
  const consumerName = config.consumer.fanout.consumerName ?? config.application;
  // Each stream registered the consumer on its own (under its own role, if it has one).
  for (const stream of configuredStreams(config)) {
    // Control-plane calls only: HTTP/1.1 is enough.
    const client = createFanoutKinesisClient({
      region: config.aws.region,
      protocol: 'http1.1',
      credentials: streamCredentials(stream, {
        region: config.aws.region,
        sessionName: config.application,
      }),
    });
    try {
      const removed = await deregisterStreamConsumer(client, stream.name, consumerName);
      say(
        removed
          ? `deregistered stream consumer ${consumerName} of ${stream.name}`
          : `no stream consumer ${consumerName} registered on ${stream.name}`,
      );
    } finally {
      client.destroy();
    }
  }
  return 0;
}

/** `kinesis-relay fanout deregister [--config FILE]`. */
export function registerFanoutCommand(
  program: Command,
  configOption: readonly [string, string],
  loadConfig: (flag: string | undefined) => RelayConfig,
  exit: (code: number) => void,
): void {
  program
    .command('fanout')
    .description('operator commands on enhanced fan-out (consumer.mode: fanout)')
    .command('deregister')
    .description('remove the registered stream consumer (idle consumers are billed)')
    .option(...configOption)
    .action(async (options: { config?: string }) => {
      exit(
        await deregisterFanoutConsumer(loadConfig(options.config), (line) =>
          process.stdout.write(`${line}\n`),
        ),
      );
    });
}
