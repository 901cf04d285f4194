import type { S3Client } from '@aws-sdk/client-s3';
import { MAX_TIMEOUT_MS } from '../../core/backoff.js';
import { callWithDeadline } from '../../core/call-deadline.js';
import { RelayError } from '../../core/errors.js';

/** Default `callTimeoutMs` of an S3 sink: the part of a call's deadline its body does not add. */
export const DEFAULT_S3_CALL_TIMEOUT_MS = 120_000;

/**
 * The slowest upload a call's deadline allows for: 1 s more per 16 KiB of body. A 5 MiB
 * part (lib-storage's size, and the largest single PutObject it sends) gets 320 s more, so
 * 16 parts in flight (4 uploads of 4 parts) fit a 2 Mbit/s link.
 */
export const MIN_UPLOAD_BYTES_PER_SECOND = 16 * 1024;

/** How long one S3 call may take, all of it: `callTimeoutMs` plus its body at the slowest rate. */
export function s3CallDeadlineMs(callTimeoutMs: number, bodyBytes: number): number {
  const ms = callTimeoutMs + Math.ceil((bodyBytes * 1_000) / MIN_UPLOAD_BYTES_PER_SECOND);
  // Past setTimeout's limit a timer fires after 1 ms: every call would time out at once.
  return Math.min(ms, MAX_TIMEOUT_MS);
}

type S3Command = Parameters<S3Client['send']>[0];
type SendOptions = Parameters<S3Client['send']>[1];

/**
 * The client as lib-storage's Upload should see it: every call it sends (PutObject,
 * CreateMultipartUpload, each UploadPart, Complete/AbortMultipartUpload) gets a whole-call
 * deadline. The HTTP handler's socket timeout ends only an idle connection, so a server
 * answering a byte at a time held a call, its batch and the shard checkpoints behind it for
 * ever. At the deadline the SDK aborts the request (its socket is destroyed: nothing is
 * left trickling) and the call fails with a retriable error, for the sink's retry policy.
 * Upload takes no abort signal per call, hence a client that delegates to the real one.
 */
export function withCallDeadlines(s3: S3Client, callTimeoutMs: number): S3Client {
  const bounded: S3Client = Object.create(s3) as S3Client;
  const send = (command: S3Command, options?: SendOptions): Promise<unknown> => {
    const deadlineMs = s3CallDeadlineMs(callTimeoutMs, bodyBytes(command));
    return callWithDeadline(
      (abortSignal) => s3.send(command, { ...options, abortSignal }),
      AbortSignal.timeout(deadlineMs),
      () =>
        new RelayError(
          'S3_CALL_TIMEOUT',
          `${command.constructor.name.replace(/Command$/, '')} did not finish within ${deadlineMs} ms (callTimeoutMs)`,
          { retriable: true },
        ),
    );
  };
  Object.defineProperty(bounded, 'send', { value: send });
  return bounded;
}

/** Bytes of the call's body: lib-storage hands each call a buffer (none for the others). */
function bodyBytes(command: S3Command): number {
  const input: unknown = command.input;
  if (typeof input !== 'object' || input === null || !('Body' in input)) return 0;
  const body = input.Body;
  if (body instanceof Uint8Array) return body.byteLength;
  if (typeof body === 'string') return Buffer.byteLength(body);
  return 0;
}
