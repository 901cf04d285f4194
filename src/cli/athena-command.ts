import type { Command } from 'commander';
import type { RelayConfig } from '../config/schema.js';
import { UsageError } from '../core/errors.js';
import { athenaDdl } from '../sinks/s3/athena-ddl.js';

/**
 * `kinesis-relay athena ddl [--config FILE] [--sink NAME] [--since DATE]`: prints the
 * CREATE EXTERNAL TABLE statements over an S3 sink's output, with partition projection,
 * so the tables are queryable at once (no Glue crawler, no MSCK REPAIR TABLE).
 */
export function registerAthenaCommand(
  program: Command,
  loadConfig: (flag: string | undefined) => RelayConfig,
): void {
  program
    .command('athena')
    .description('Amazon Athena helpers')
    .command('ddl')
    .description("print CREATE EXTERNAL TABLE statements for an S3 sink's output")
    .option(
      '-c, --config <file>',
      'config file (default: $KINESIS_RELAY_CONFIG, then config/relay.yaml)',
    )
    .option('--sink <name>', 'only this S3 sink (default: every S3 sink)')
    .option('--since <date>', 'first date of the projected partitions (yyyy-MM-dd)', '2020-01-01')
    .action((options: { config?: string; sink?: string; since: string }) => {
      if (!/^\d{4}-\d\d-\d\d$/.test(options.since)) {
        throw new UsageError(`--since: expected a date like 2026-01-31, got ${options.since}`);
      }
      const config = loadConfig(options.config);
      process.stdout.write(athenaDdl(config, options.sink, { since: options.since }));
    });
}
