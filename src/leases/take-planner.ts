import type { Lease } from './lease.js';

export interface TakePlanInput {
  readonly leases: readonly Lease[];
  readonly workerId: string;
  /** Leases whose counter has not moved for the failover time (their owner is gone). */
  readonly expired: ReadonlySet<string>;
  readonly maxLeasesPerWorker: number | null;
  readonly random?: () => number;
}

export interface TakePlan {
  readonly take: readonly Lease[];
  /** At most one lease taken from the busiest live worker, toward an even share. */
  readonly steal: Lease | null;
  readonly target: number;
}

/**
 * The KCL's take algorithm as a pure function: the target is ceil(leases / live workers);
 * unowned and expired leases are taken first, and only when there are none does the
 * worker steal, one lease per pass, from the most loaded worker above the target.
 */
export function planTakes(input: TakePlanInput): TakePlan {
  const { leases, workerId, expired } = input;
  const random = input.random ?? Math.random;
  const finished = (lease: Lease) => lease.checkpoint === 'SHARD_END';
  const active = leases.filter((lease) => !finished(lease));
  const available = active.filter(
    (lease) =>
      lease.leaseOwner === null || (expired.has(lease.leaseKey) && lease.leaseOwner !== workerId),
  );

  const counts = new Map<string, Lease[]>([[workerId, []]]);
  for (const lease of active) {
    if (lease.leaseOwner === null || available.includes(lease)) continue;
    const owned = counts.get(lease.leaseOwner) ?? [];
    owned.push(lease);
    counts.set(lease.leaseOwner, owned);
  }

  let target = Math.ceil(active.length / counts.size);
  if (input.maxLeasesPerWorker !== null) target = Math.min(target, input.maxLeasesPerWorker);
  const mine = counts.get(workerId)?.length ?? 0;
  const needed = target - mine;
  if (needed <= 0) return { take: [], steal: null, target };

  if (available.length > 0) {
    // Unowned first (released on purpose, or never owned), then the expired ones.
    const ordered = shuffle(available, random).sort(
      (a, b) => Number(a.leaseOwner !== null) - Number(b.leaseOwner !== null),
    );
    return { take: ordered.slice(0, needed), steal: null, target };
  }

  let busiest: Lease[] = [];
  for (const [owner, owned] of counts) {
    if (owner !== workerId && owned.length > busiest.length) busiest = owned;
  }
  const worthStealing = busiest.length > target || (busiest.length === target && needed > 1);
  const steal = worthStealing ? (shuffle(busiest, random)[0] ?? null) : null;
  return { take: [], steal, target };
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
