/**
 * Waits for `work`, or `ms` at most: the caller goes on after that whether or not the work
 * has finished (it is not cancelled). For steps that must not hold a stop or a handoff.
 */
export function withinMs(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
