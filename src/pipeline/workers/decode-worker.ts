import { move, workerData } from 'piscina';
import { PageDecoder } from './page-decoder.js';
import type { DecodeWorkerSpec } from './worker-spec.js';

/**
 * The decode pool's worker entry (piscina loads it in each thread): one PageDecoder built
 * from the spec the pool was started with, one packed page per task, the packed answer
 * handed back as a transferable.
 */
const spec: DecodeWorkerSpec = workerData;
const decoder = new PageDecoder(spec);

export default function decodePage(page: ArrayBuffer): ReturnType<typeof move> {
  return move(decoder.decodePage(page));
}
