import { backoffDelay, MAX_TIMEOUT_MS, sleep } from '../core/backoff.js';
import { RelayError, errorMessage } from '../core/errors.js';
import type { RetryConfig } from '../config/schema.js';

/** Why a batch was given up on: refused, or out of attempts, time or record age. */
export type GiveUpCause = 'refused' | 'attempts' | 'elapsed' | 'age';

export type DeliveryOutcome =
  | { readonly delivered: true; readonly attempts: number }
  | {
      readonly delivered: false;
      readonly attempts: number;
      readonly error: string;
      /** True when the destination refused the batch, false when a retry bound ran out. */
      readonly rejected: boolean;
      readonly cause: GiveUpCause;
    };

/** The retry bounds; the attempt and record-age bounds are optional (null: none). */
export type RetryPolicy = Pick<RetryConfig, 'initialDelayMs' | 'maxDelayMs' | 'maxElapsedMs'> &
  Partial<Pick<RetryConfig, 'maxAttempts' | 'maxRecordAgeMs'>>;

/**
 * A retriable failure where the destination said when to come back (HTTP Retry-After):
 * the next attempt waits that long instead of the backoff delay.
 */
export class RetryAfterError extends RelayError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(code, message, { retriable: true });
  }
}

/** Why a destination refused access: its credentials or its address need an operator. */
export type AccessRefusal = 'unauthorized' | 'forbidden' | 'not_found' | 'redirected';

/**
 * The destination refused our credentials or our address (HTTP 401, 403, 404, 3xx): the
 * data is fine and an operator can fix the cause (rotate a token, correct the url), so it
 * is retried like an outage, within the retry budget, and reported loudly (an error line
 * and a metric per attempt), never dead-lettered at once as a refusal of the batch is.
 */
export class DestinationAccessError extends RelayError {
  constructor(
    code: string,
    message: string,
    readonly reason: AccessRefusal,
  ) {
    super(code, message, { retriable: true });
  }
}

export interface DeliveryRetryOptions {
  readonly policy: RetryPolicy;
  /** False when there is nowhere to put a batch we give up on: then never give up. */
  readonly mayGiveUp: boolean;
  /**
   * The caller can split the batch (bisection): a refusal or running out of attempts ends
   * the loop even when giving up is not possible, since the parts may yet be delivered.
   */
  readonly splittable?: boolean;
  readonly onRetry: (error: unknown, attempt: number, delayMs: number) => void;
  /** When the retry budget started (default: now); bisected parts share their batch's. */
  readonly startedAt?: number;
  /** Arrival time (ms since the epoch) of the batch's oldest record, for `maxRecordAgeMs`. */
  readonly oldestRecordAt?: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * The one retry decision of a sink: retry with exponential backoff and jitter until the
 * write succeeds or, when a dead-letter destination exists (or the batch can be split,
 * for the first two), a bound runs out: an error
 * marked non-retriable (at once), `maxAttempts`, `maxElapsedMs`, or the oldest record
 * older than `maxRecordAgeMs`. So a batch never holds its shard longer than configured.
 */
export async function deliverWithRetry(
  write: () => Promise<void>,
  options: DeliveryRetryOptions,
): Promise<DeliveryOutcome> {
  const now = options.now ?? Date.now;
  const started = options.startedAt ?? now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      await write();
      return { delivered: true, attempts: attempt };
    } catch (error) {
      const cause = giveUpCause(error, attempt, started, options, now);
      if (
        cause &&
        (options.mayGiveUp || (options.splittable && splitsOn(cause, options.mayGiveUp)))
      ) {
        return {
          delivered: false,
          attempts: attempt,
          error: errorMessage(error),
          rejected: cause === 'refused',
          cause,
        };
      }
      const delayMs =
        error instanceof RetryAfterError
          ? retryAfterDelay(error.retryAfterMs, options, now() - started)
          : backoffDelay(options.policy, attempt - 1, options.random);
      options.onRetry(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}

function giveUpCause(
  error: unknown,
  attempt: number,
  started: number,
  options: DeliveryRetryOptions,
  now: () => number,
): GiveUpCause | null {
  const { policy } = options;
  if (error instanceof RelayError && !error.retriable) return 'refused';
  if (policy.maxAttempts != null && attempt >= policy.maxAttempts) return 'attempts';
  if (now() - started >= policy.maxElapsedMs) return 'elapsed';
  const oldest = options.oldestRecordAt;
  if (policy.maxRecordAgeMs != null && oldest !== undefined) {
    if (now() - oldest >= policy.maxRecordAgeMs) return 'age';
  }
  return null;
}

/**
 * Whether a batch that ran out this way is bisected rather than given up whole. A refusal
 * of some events or a flaky large request may pass in smaller parts. Running out of time
 * or record age (only where giving up is possible) splits too: a destination failing on one
 * event forever (a 500 on a poison record) fails every batch holding it, and bisection is
 * what spares the others. The parts share the batch's time budget, so past it each part
 * gets one attempt: about 2 log2(n) requests find the event at fault, and an outage of
 * the whole destination ends as it did (every event dead-lettered) after at most 2n.
 */
export function splitsOn(cause: GiveUpCause, mayGiveUp: boolean): boolean {
  return cause === 'refused' || cause === 'attempts' || mayGiveUp;
}

/** Appended to the last error, so a dead-letter entry says which bound ran out. */
export function giveUpNote(cause: GiveUpCause, policy: RetryPolicy, attempts: number): string {
  return GIVE_UP_NOTES[cause](policy, attempts);
}

const GIVE_UP_NOTES: Record<GiveUpCause, (policy: RetryPolicy, attempts: number) => string> = {
  refused: () => '',
  attempts: (_policy, attempts) => ` (gave up after ${attempts} attempts: retry.maxAttempts)`,
  elapsed: (policy) => ` (gave up after ${policy.maxElapsedMs} ms: retry.maxElapsedMs)`,
  age: (policy) => ` (gave up: a record older than retry.maxRecordAgeMs ${policy.maxRecordAgeMs})`,
};

/**
 * Waits as long as asked, but never past the retry budget when giving up is possible, and
 * never longer than the whole budget when it is not: a receiver asking for days (or a
 * Retry-After date far ahead) would hold the shard that long, and past setTimeout's
 * 2^31 - 1 ms the wait was 1 ms, so such an answer made a retry loop with no wait at all.
 */
function retryAfterDelay(
  askedMs: number,
  options: DeliveryRetryOptions,
  elapsedMs: number,
): number {
  const budgetMs = Math.min(options.policy.maxElapsedMs, MAX_TIMEOUT_MS);
  if (!options.mayGiveUp) return Math.min(askedMs, budgetMs);
  return Math.max(0, Math.min(askedMs, budgetMs - elapsedMs));
}
