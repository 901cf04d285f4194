import type { RelayEvent } from '../../core/event.js';
import { createDecoder, csvShapeFor, type Decoder } from '../../decode/index.js';
import { EventEncoder } from '../../sinks/s3/event-encoder.js';
import { KeyLayout } from '../../sinks/s3/key-layout.js';
import { webhookDocument } from '../../sinks/webhook/webhook-document.js';
import { RouteFilter } from '../router.js';
import { ResultWriter, unpackPage, type WorkerEncoded } from './page-codec.js';
import type { DecodeWorkerSpec, WorkerEncoding } from './worker-spec.js';

/** One sink's encoding in the worker: what its own `write` would make of an event. */
type SinkEncoder = (event: RelayEvent) => WorkerEncoded;

interface SinkEncoding {
  readonly filter: RouteFilter;
  readonly encode: SinkEncoder;
}

/**
 * A decode worker's job, without the thread: a packed page in, a packed answer out. Per
 * record the decoder's verdict; per event the fields the main thread routes on and, for
 * each sink that takes it and encodes here, the sink's line and directory, made by the
 * same encoder and key layout the sink would use (so the bytes are the same).
 */
export class PageDecoder {
  private readonly decoder: Decoder;
  private readonly sinks: ReadonlyArray<SinkEncoding | null>;

  constructor(spec: DecodeWorkerSpec) {
    this.decoder = createDecoder(spec.decodeFormat, { streamInIds: spec.streamInIds });
    this.sinks = spec.sinks.map((sink) =>
      sink.encoding
        ? { filter: new RouteFilter(sink.filter), encode: encoderFor(sink.encoding) }
        : null,
    );
  }

  decodePage(page: ArrayBuffer): ArrayBuffer {
    const records = unpackPage(page);
    // Lines are about the size of the records they come from, per sink: a first guess.
    const capacity = 64 + page.byteLength * Math.max(1, this.sinks.length);
    const out = new ResultWriter(records.length, this.sinks.length, capacity);
    for (const record of records) {
      const result = this.decoder.decode(record);
      if (!result.ok) {
        out.failed(result.error);
        continue;
      }
      out.decoded(
        result.events.map((event) => ({
          type: event.type,
          format: event.format,
          encoded: this.sinks.map((sink) => (sink ? encodeFor(sink, event) : null)),
        })),
      );
    }
    return out.finish();
  }
}

/**
 * The sink's line for the event; null when the sink does not take it, or when its encoder
 * throws (a document nested deeper than JSON.stringify's stack). Then the main thread
 * encodes it again with the sink's own `write`, which throws the same, and dead-letters
 * the record for that sink (ShardPipeline): a throw here failed the whole page, and the
 * shard loop read it again for ever.
 */
function encodeFor(sink: SinkEncoding, event: RelayEvent): WorkerEncoded | null {
  if (!sink.filter.accepts(event.type, event.format, event.record.streamName)) return null;
  try {
    return sink.encode(event);
  } catch {
    return null;
  }
}

function encoderFor(encoding: WorkerEncoding): SinkEncoder {
  if (encoding.type === 'webhook') {
    return (event) => {
      const line = webhookDocument(event);
      return { kind: 'json', shapeId: null, directory: '', line, bytes: Buffer.byteLength(line) };
    };
  }
  if (encoding.format === 'parquet') throw new Error('Parquet rows are encoded on the main thread');
  const encoder = new EventEncoder(encoding.format, encoding.verbatimJson, csvShapeFor);
  const layout = new KeyLayout({ ...encoding.layout, resolveShape: csvShapeFor });
  return (event) => {
    const encoded = encoder.encode(event);
    return {
      kind: encoded.kind,
      shapeId: encoded.shape?.id ?? null,
      directory: layout.directory(event, encoded.kind),
      line: encoded.line,
      bytes: encoded.bytes,
    };
  };
}
