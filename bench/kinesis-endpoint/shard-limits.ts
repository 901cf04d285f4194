/**
 * Kinesis' per-shard read limits, to model AWS when switched on: at most 5 GetRecords
 * calls in any second, and 2 MB/s of data. As on AWS, one call may return more than the
 * bytes left in the second (up to 10 MB); the calls after it are refused until the
 * shard's byte budget has recovered.
 */
export const CALLS_PER_SECOND = 5;
export const BYTES_PER_SECOND = 2 * 1024 * 1024;

export class ShardLimits {
  private readonly recentCalls: number[] = [];
  private budget = BYTES_PER_SECOND;
  private budgetAt: number;

  constructor(private readonly now: () => number = Date.now) {
    this.budgetAt = now();
  }

  /** Whether a call may be served now; a served call counts toward the call limit. */
  admit(): boolean {
    const now = this.now();
    this.refill(now);
    while (this.recentCalls.length > 0 && now - (this.recentCalls[0] ?? 0) >= 1000) {
      this.recentCalls.shift();
    }
    if (this.recentCalls.length >= CALLS_PER_SECOND || this.budget <= 0) return false;
    this.recentCalls.push(now);
    return true;
  }

  /** Data bytes a served call returned. */
  spend(bytes: number): void {
    this.budget -= bytes;
  }

  private refill(now: number): void {
    this.budget = Math.min(
      BYTES_PER_SECOND,
      this.budget + ((now - this.budgetAt) / 1000) * BYTES_PER_SECOND,
    );
    this.budgetAt = now;
  }
}
