import { MessageChannel } from 'node:worker_threads';

/**
 * Frees the memory of an ArrayBuffer now, instead of at the garbage collection that finds
 * it unreachable. V8 collects array buffers with the objects that hold them, and lets an
 * isolate's unreachable ones add up to ~64 MB before it collects for them: a page worker's
 * GetRecords bodies and buffers, promoted while the thread works, held tens of MB that
 * way (docs/performance.md). The buffer is transferred into a message nobody will read and
 * dropped with its channel; it is detached here (every view of it reads as empty), so only
 * a buffer the caller owns outright may be passed. One that cannot be transferred (a view
 * of Node's shared pool, say) is left to the collector.
 */
export function releaseNow(view: Uint8Array): void {
  const buffer = view.buffer;
  if (!(buffer instanceof ArrayBuffer)) return;
  // A view of part of a buffer may share it with others (Node's pool for small Buffers).
  if (view.byteOffset !== 0 || view.byteLength !== buffer.byteLength) return;
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(null, [buffer]);
  } catch {
    // Not transferable: the collector frees it, as before.
  } finally {
    port1.close();
    port2.close();
  }
}
