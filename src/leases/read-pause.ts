import type { ReadPermits } from '../core/read-permits.js';

/**
 * One shard's reads, gated in front of the process-wide read permits: closed while its
 * lease is paused (not renewed in time), so the shard loop makes no GetRecords call until
 * the lease is renewed again. Records already read stay in flight and are acknowledged,
 * and the loop resumes where it stopped: nothing is read twice.
 */
export class ReadPause {
  private opened: Promise<void> | null = null;
  private open: () => void = () => undefined;

  constructor(private readonly permits?: ReadPermits) {}

  get paused(): boolean {
    return this.opened !== null;
  }

  pause(): void {
    this.opened ??= new Promise((resolve) => (this.open = resolve));
  }

  resume(): void {
    this.open();
    this.opened = null;
  }

  /** As ReadPermits.acquire, after waiting while paused (an abort ends the wait). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    for (;;) {
      await this.whilePaused(signal);
      if (signal?.aborted) return () => undefined;
      const release = this.permits ? await this.permits.acquire(signal) : () => undefined;
      // Paused while it waited for a permit: give the permit back and wait again.
      if (!this.paused || signal?.aborted) return release;
      release();
    }
  }

  private async whilePaused(signal?: AbortSignal): Promise<void> {
    while (this.opened && !signal?.aborted) {
      let onAbort: () => void = () => undefined;
      const aborted = new Promise<void>((resolve) => {
        onAbort = resolve;
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      await Promise.race([this.opened, aborted]);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
