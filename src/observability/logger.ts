import { pino, type Logger } from 'pino';
import { REDACTED, redactHeaderValue, redactUrl } from '../config/redact.js';

export type { Logger };

const SECRET_KEYS = ['signingSecret', 'password', 'secretAccessKey', 'sessionToken', 'accessKey'];

/**
 * Keys whose values never reach a log line as they are, wherever they appear in a logged
 * object. pino paths are exact: `*.password` covers one level below the top, not the top
 * itself, so each key is listed at the top level too. URLs keep all but their password and
 * secret query parameters; headers all but harmless values (see `censor`).
 */
export const REDACTED_LOG_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((key) => `*.${key}`),
  'config.sinks[*].signingSecret',
  'config.sinks[*].url',
  'config.sinks[*].headers.*',
  'url',
  '*.url',
  'headers.*',
  '*.headers.*',
];

/** What a redacted path is written as: a URL or header value only loses its secret parts. */
function censor(value: unknown, path: string[]): unknown {
  const key = path.at(-1) ?? '';
  if (path.at(-2) === 'headers') return redactHeaderValue(key, value);
  if (key === 'url') return typeof value === 'string' ? redactUrl(value) : value;
  return REDACTED;
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      name: 'kinesis-relay',
      level,
      base: { pid: process.pid },
      redact: { paths: REDACTED_LOG_PATHS, censor },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as pino.DestinationStream | undefined,
  );
}
