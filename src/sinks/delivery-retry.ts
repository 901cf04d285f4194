import { backoffDelay, sleep } from '../core/backoff.js';
import { RelayError, errorMessage } from '../core/errors.js';
import type { RetryConfig } from '../config/schema.js';

export type DeliveryOutcome =
  | { readonly delivered: true; readonly attempts: number }
  | {
      readonly delivered: false;
      readonly attempts: number;
      readonly error: string;
      /** True when the destination refused the batch, false when time ran out. */
      readonly rejected: boolean;
    };

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
  readonly policy: RetryConfig;
  /** False when there is nowhere to put a batch we give up on: then never give up. */
  readonly mayGiveUp: boolean;
  readonly onRetry: (error: unknown, attempt: number, delayMs: number) => void;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * The one retry decision of a sink: retry with exponential backoff and jitter until the
 * write succeeds or, when a dead-letter destination exists, `maxElapsedMs` has passed.
 * An error marked non-retriable gives up at once (where giving up is possible).
 */
export async function deliverWithRetry(
  write: () => Promise<void>,
  options: DeliveryRetryOptions,
): Promise<DeliveryOutcome> {
  const now = options.now ?? Date.now;
  const started = now();
  for (let attempt = 1; ; attempt += 1) {
    try {
      await write();
      return { delivered: true, attempts: attempt };
    } catch (error) {
      const permanent = error instanceof RelayError && !error.retriable;
      const outOfTime = now() - started >= options.policy.maxElapsedMs;
      if (options.mayGiveUp && (permanent || outOfTime)) {
        return {
          delivered: false,
          attempts: attempt,
          error: errorMessage(error),
          rejected: permanent,
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

/** Waits as long as asked, but never past the retry budget when giving up is possible. */
function retryAfterDelay(
  askedMs: number,
  options: DeliveryRetryOptions,
  elapsedMs: number,
): number {
  if (!options.mayGiveUp) return askedMs;
  return Math.max(0, Math.min(askedMs, options.policy.maxElapsedMs - elapsedMs));
}
