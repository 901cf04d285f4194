import { withinMs } from '../../core/within-ms.js';

/**
 * Gives each filesystem call a deadline, as the SDK's idle timeout gives each S3 request:
 * a call that has not returned within `timeoutMs` fails with `timeout()` (retriable), while
 * a slow disk whose calls keep returning is never cut off.
 *
 * A call past its deadline is abandoned, not cancelled: Node cannot interrupt a blocked
 * syscall, which holds one of libuv's threads (4 by default, shared with dns.lookup and
 * all file I/O) until it returns. So at most `maxHung` abandoned calls are left running;
 * with that many, a new call waits (within its own deadline) for one to return instead of
 * blocking another thread, and a mount that hangs every call cannot stall the process.
 */
export class FileCallDeadline {
  private hung = 0;
  private roomChanged: Promise<void>;
  private wake: () => void = () => undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly timeout: (what: string) => Error,
    private readonly maxHung = 2,
  ) {
    this.roomChanged = this.nextChange();
  }

  /**
   * Runs `work` within the deadline. `abandoned` receives what an abandoned call returns
   * late (a file handle to close), so nothing it opened is left open.
   */
  async call<T>(what: string, work: () => Promise<T>, abandoned?: (late: T) => void): Promise<T> {
    while (this.hung >= this.maxHung) {
      if (!(await settleWithin(this.roomChanged, this.timeoutMs))) {
        throw this.timeout(`${what} (waiting for an earlier call that hangs)`);
      }
    }
    const running = work();
    const settled = await settleWithin(running, this.timeoutMs);
    if (settled) return settled.value;
    this.hung += 1;
    const returned = (): void => {
      this.hung -= 1;
      this.wake();
    };
    void running.then((late) => {
      returned();
      abandoned?.(late);
    }, returned);
    throw this.timeout(what);
  }

  private nextChange(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = () => {
        this.roomChanged = this.nextChange();
        resolve();
      };
    });
  }
}

/** What `work` resolved to, or undefined once `ms` passed first (it rejects as `work` does). */
async function settleWithin<T>(work: Promise<T>, ms: number): Promise<{ value: T } | undefined> {
  let settled: { value: T } | undefined;
  await withinMs(
    work.then((value) => {
      settled = { value };
    }),
    ms,
  );
  return settled;
}
