#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { stringify } from 'yaml';
import { loadConfigFile, resolveConfigPath } from './config/load.js';
import { redactConfig } from './config/redact.js';
import { UsageError, errorMessage } from './core/errors.js';
import { runRelay } from './cli/run-command.js';
import { listLeases } from './cli/leases-command.js';
import { parseCheckpointTarget, setCheckpoint } from './cli/checkpoint-command.js';
import { replayDeadLetters } from './cli/dead-letter-command.js';
import { registerFanoutCommand } from './cli/fanout-command.js';
import { parseReplayFlags, type ReplayFlags } from './cli/replay-options.js';
import { registerAthenaCommand } from './cli/athena-command.js';
import { exitOnCrash } from './observability/crash-handlers.js';
import { createLogger, type Logger } from './observability/logger.js';

/** Exit codes (design.md): 0 ok, 2 bad config or usage, 1 runtime failure. */
async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  // A crash is logged by the running command's logger; until it has one, on stderr (stdout
  // may carry a command's output).
  let crashLog: Logger = createLogger('info', process.stderr);
  exitOnCrash(() => crashLog);
  const program = new Command()
    .name('kinesis-relay')
    .description('Consume an Amazon Kinesis stream and deliver every record to S3 and friends.')
    .exitOverride()
    .showHelpAfterError();
  const configOption = [
    '-c, --config <file>',
    'config file (default: $KINESIS_RELAY_CONFIG, then config/relay.yaml)',
  ] as const;
  const config = (flag: string | undefined) => loadConfigFile(resolveConfigPath(flag, process.env));

  program
    .command('run')
    .description('run until SIGTERM/SIGINT')
    .option(...configOption)
    .action(async (options: { config?: string }) => {
      const loaded = config(options.config);
      const log = createLogger(loaded.log.level);
      crashLog = log;
      exitCode = await runRelay(loaded, log);
    });
  program
    .command('check-config')
    .description('validate the config and print it with secrets redacted')
    .option(...configOption)
    .action((options: { config?: string }) => {
      process.stdout.write(stringify(redactConfig(config(options.config))));
    });
  program
    .command('leases')
    .description('list the lease table: per shard owner, counter, checkpoint, parents')
    .option(...configOption)
    .action(async (options: { config?: string }) => {
      process.stdout.write(await listLeases(config(options.config)));
    });
  program
    .command('checkpoint')
    .description('operator commands on checkpoints')
    .command('set')
    .description(
      "move one shard's checkpoint (refused while a live worker holds it, unless --force)",
    )
    .requiredOption('--shard <id>', 'shard id, e.g. shardId-000000000001')
    .requiredOption(
      '--to <position>',
      'TRIM_HORIZON | LATEST | <sequence>[/<sub>] | <ISO-8601 time>',
    )
    .option('--force', 'move it even while a live worker holds it, or it is at SHARD_END', false)
    .option(...configOption)
    .action(async (options: { shard: string; to: string; force: boolean; config?: string }) => {
      const target = parseCheckpointTarget(options.to);
      exitCode = await setCheckpoint(config(options.config), {
        shardId: options.shard,
        to: target,
        force: options.force,
        say: (line) => process.stdout.write(`${line}\n`),
      });
    });
  program
    .command('dead-letter')
    .description('operator commands on dead-lettered records')
    .command('replay')
    .description(
      'send dead-lettered records through decode → route → sinks again (or to one --sink)',
    )
    .option(...configOption)
    .option('--sink <name>', 'deliver to this sink only')
    .option('--format <format>', 'decode with this format instead of decode.format')
    .option('--reason <reason...>', 'only decode_failed | sink_gave_up | sink_rejected')
    .option('--shard <id...>', 'only entries of these shards')
    .option('--since <time>', 'only records that arrived at or after this ISO-8601 time')
    .option('--until <time>', 'only records that arrived at or before this ISO-8601 time')
    .option('--dry-run', 'count what would be replayed; send nothing', false)
    .option('--delete-replayed', 'remove each file once all its entries were replayed', false)
    .action(
      async (
        options: ReplayFlags & {
          config?: string;
          sink?: string;
          dryRun: boolean;
          deleteReplayed: boolean;
        },
      ) => {
        const { format, filter } = parseReplayFlags(options);
        const loaded = config(options.config);
        exitCode = await replayDeadLetters(
          loaded,
          {
            sink: options.sink,
            format,
            filter,
            dryRun: options.dryRun,
            deleteReplayed: options.deleteReplayed,
            say: (line) => process.stdout.write(`${line}\n`),
          },
          // Logs to stderr: stdout carries the summary.
          createLogger(loaded.log.level, process.stderr),
        );
      },
    );
  registerAthenaCommand(program, config);
  registerFanoutCommand(program, configOption, config, (code) => (exitCode = code));
  program
    .command('demo')
    .description('embedded emulators + sample events of every format, then print what landed where')
    .option('--duration <time>', 'how long to run, e.g. 30s or 2m', '30s')
    .action(async (options: { duration: string }) => {
      const { runDemo, parseDuration } = await import('./demo/demo.js');
      exitCode = await runDemo({ durationMs: parseDuration(options.duration) });
    });

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`kinesis-relay: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`kinesis-relay: ${errorMessage(error)}\n`);
    return 1;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`kinesis-relay: ${errorMessage(error)}\n`);
    process.exitCode = 1;
  },
);
