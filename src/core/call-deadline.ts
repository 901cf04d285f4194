/**
 * Runs one SDK call with a deadline: the SDK aborts the attempt in flight and makes no
 * further retry, and the race settles the call at the deadline even if the SDK is
 * sleeping between attempts (its retry backoff does not watch the signal).
 */
export function callWithDeadline<Output>(
  send: (abortSignal: AbortSignal) => Promise<Output>,
  deadline: AbortSignal,
  timeout: () => Error,
): Promise<Output> {
  if (deadline.aborted) return Promise.reject(timeout());
  let onAbort: () => void = () => undefined;
  const timedOut = new Promise<never>((_, reject) => {
    onAbort = () => reject(timeout());
    deadline.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([send(deadline), timedOut]).finally(() =>
    deadline.removeEventListener('abort', onAbort),
  );
}
