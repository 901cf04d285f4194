/**
 * Errors carry a stable code and whether trying again can help, so retry decisions live
 * in one place per component instead of in scattered catch blocks.
 */
export class RelayError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RelayError';
    this.code = code;
    this.retriable = options.retriable;
  }
}

/** A problem with the configuration or the command line: the process exits 2. */
export class UsageError extends Error {
  readonly exitCode = 2;

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Thrown when a lease this worker held was taken by another worker or expired. */
export class LeaseLostError extends RelayError {
  constructor(shardId: string, cause?: unknown) {
    super('LEASE_LOST', `lease for ${shardId} is no longer held by this worker`, {
      retriable: false,
      cause,
    });
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The AWS SDK's error name (`ExpiredIteratorException` ...) or undefined. */
export function awsErrorName(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'name' in error) {
    const name = (error as { name: unknown }).name;
    return typeof name === 'string' ? name : undefined;
  }
  return undefined;
}
