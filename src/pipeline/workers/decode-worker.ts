import { move, workerData } from 'piscina';
import { PageChunker, type PageAnswer, type PageTask } from './page-chunker.js';
import { PageDecoder } from './page-decoder.js';
import type { DecodeWorkerSpec } from './worker-spec.js';

/**
 * The decode pool's worker entry (piscina loads it in each thread), built from the spec
 * the pool was started with. Two kinds of task: a packed page of records (its packed
 * answer handed back as a transferable), or, where every sink takes chunks, a GetRecords
 * body read here whole (PageChunker).
 */
const spec: DecodeWorkerSpec = workerData;
const decoder = new PageDecoder(spec);
const chunker = spec.chunks ? new PageChunker(spec.chunks) : null;

export default function decodePage(
  task: ArrayBuffer | PageTask,
): ReturnType<typeof move> | Promise<PageAnswer> {
  if (task instanceof ArrayBuffer) return move(decoder.decodePage(task));
  if (!chunker) throw new Error('a page task for a pool without chunking sinks');
  return chunker.chunkPage(task);
}
