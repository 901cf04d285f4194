/**
 * Milliseconds on a clock that only moves forward at a steady rate, for measuring
 * durations (lease expiry, deadlines). The wall clock (`Date.now`) can be stepped by NTP
 * or an operator; the KCL times leases with `System.nanoTime` for the same reason.
 */
export type MonotonicClock = () => number;

export const monotonicNow: MonotonicClock = () => performance.now();
