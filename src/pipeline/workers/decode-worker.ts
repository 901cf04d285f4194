import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
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
  return chunker.chunkPage(task).then(movedChunks);
}

/**
 * The chunks' bytes transferred to the main thread, not copied: each body and each
 * chunk's compressed records are a buffer of their own (PageChunker.stored,
 * compressKeptRecords), which the main thread frees once its object is stored.
 */
function movedChunks(answer: PageAnswer): PageAnswer {
  if (!answer.parsed || answer.chunks.length === 0) return answer;
  const transferable = {
    get [transferableSymbol]() {
      return answer.chunks.flatMap((chunk) =>
        chunk.records ? [chunk.body.buffer, chunk.records.buffer] : [chunk.body.buffer],
      );
    },
    get [valueSymbol]() {
      return answer;
    },
  };
  return move(transferable) as unknown as PageAnswer;
}
