/** A lease call did not finish within its deadline (it may still have been applied). */
export class LeaseCallTimeoutError extends Error {
  override readonly name = 'LeaseCallTimeoutError';
}

// Shared with the S3 sink's call deadlines; kept importable from here for the lease store.
export { callWithDeadline } from '../core/call-deadline.js';
