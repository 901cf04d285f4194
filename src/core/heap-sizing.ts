const MIB = 1024 * 1024;

/**
 * V8's heap limit from which it sizes its heap as on a machine with memory to spare. Node
 * sizes V8 from the container's memory limit (a 259 MiB heap limit in a 256 MiB pod), and
 * below 2 GiB V8 lets its old generation grow far less between full collections. Measured
 * with 2M records at 16 shards in a 256 MiB memory cgroup: the main isolate ran ~190 full
 * collections instead of 2, and the relay spent 18.0-19.3 CPU-s per million records
 * instead of 12.6-13.1 (limits of 384-1024 MiB as slow, 2048 and 4096 fast; peak RSS
 * 211-231 MiB with 2048; docs/performance.md, "A pod's V8"). The events the relay holds
 * are bounded by its budget, not by V8's limit: raising the limit changes how often V8
 * collects, not what the relay may hold.
 */
export const FAST_COLLECTION_HEAP_LIMIT_BYTES = 2048 * MIB;

/** The Node flag that gives V8 that limit (the image and the Helm chart set it). */
export const FAST_COLLECTION_NODE_OPTION = '--max-old-space-size=2048';

/**
 * Why this process will spend more CPU per record than it needs to, or null: a container
 * memory limit is in force and V8's heap limit is below FAST_COLLECTION_HEAP_LIMIT_BYTES
 * (Node sized it from the container's limit, or NODE_OPTIONS capped it).
 */
export function smallHeapWarning(
  containerLimitBytes: number | null,
  heapLimitBytes: number,
): string | null {
  if (containerLimitBytes === null || heapLimitBytes >= FAST_COLLECTION_HEAP_LIMIT_BYTES) {
    return null;
  }
  const heapMib = Math.round(heapLimitBytes / MIB);
  return (
    `V8's heap limit is ${heapMib} MiB (sized from the container's memory limit or by ` +
    `--max-old-space-size): V8 then collects garbage far more often, ~40 % more CPU per ` +
    `record. Start Node with NODE_OPTIONS=${FAST_COLLECTION_NODE_OPTION}; the events held ` +
    `stay bounded by memory.limitBytes (docs/operations.md, "Memory")`
  );
}
