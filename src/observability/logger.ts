import { pino, type Logger } from 'pino';

export type { Logger };

const SECRET_KEYS = ['signingSecret', 'password', 'secretAccessKey', 'sessionToken', 'accessKey'];

/**
 * Keys whose values never reach a log line, wherever they appear in a logged object.
 * pino paths are exact: `*.password` covers one level below the top, not the top itself,
 * so each secret key is listed at the top level too.
 */
export const REDACTED_LOG_PATHS = [
  ...SECRET_KEYS,
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
