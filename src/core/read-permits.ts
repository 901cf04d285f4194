/**
 * A process-wide bound on shard loops holding a GetRecords page (fetching it or routing
 * it into the sinks). Without it memory grows with the shard count, not with the sinks'
 * in-flight bound: every loop that a full sink released fetches its next page at once,
 * and each page is up to 10,000 records (10 MB) before a sink can push back.
 */
export class ReadPermits {
  private available: number;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly limit: number) {
    this.available = limit;
  }

  /** Resolves with a release function once a permit is free (or at once when aborted). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.available > 0) {
      this.available -= 1;
      return this.releaser();
    }
    return new Promise((resolve) => {
      const grant = () => {
        signal?.removeEventListener('abort', abandon);
        resolve(this.releaser());
      };
      // An aborted waiter gives up its place; the caller sees the abort and stops.
      const abandon = () => {
        const index = this.waiters.indexOf(grant);
        if (index >= 0) this.waiters.splice(index, 1);
        resolve(() => undefined);
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', abandon, { once: true });
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.available += 1;
    };
  }
}
