import type { Logger } from './logger.js';

/**
 * Exit on an uncaught exception or an unhandled rejection as Node does (code 1), but say so
 * in one fatal JSON line through the relay's logger, with the error's stack, instead of a
 * plain-text stack that log pipelines split into unparsable lines. pino writes `fatal`
 * synchronously (it flushes the destination at once), so the line is out before the exit.
 *
 * No attempt to stop cleanly: after an error nobody caught, the process state is unknown.
 * Its leases expire after `failoverMs` and the next owner resumes at the checkpoints.
 *
 * `currentLog` is read at the crash: the command's own logger once it has one (the relay's,
 * at its configured level), a default before that.
 */
export function exitOnCrash(currentLog: () => Logger): void {
  const crash = (error: unknown, msg: string) => {
    try {
      currentLog().fatal({ err: error instanceof Error ? error : String(error) }, msg);
    } finally {
      process.exit(1);
    }
  };
  process.on('uncaughtException', (error) => crash(error, 'uncaught exception; exiting'));
  process.on('unhandledRejection', (reason) =>
    crash(reason, 'unhandled promise rejection; exiting'),
  );
}
