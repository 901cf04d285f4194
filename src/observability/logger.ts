import { pino, type Logger } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
export const REDACTED_LOG_PATHS = [
  '*.signingSecret',
  '*.password',
  '*.secretAccessKey',
  '*.sessionToken',
  '*.accessKey',
  'config.sinks[*].signingSecret',
  'config.sinks[*].url',
  'headers.authorization',
  'headers["x-amz-firehose-access-key"]',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      name: 'kinesis-relay',
      level,
      base: { pid: process.pid },
      redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as pino.DestinationStream | undefined,
  );
}
