import type { _Record } from '@aws-sdk/client-kinesis';
import { errorMessage } from '../../core/errors.js';
import type { RecordPosition, UserRecord } from '../../core/record.js';
import { createDecoder, csvShapeFor, type Decoder } from '../../decode/index.js';
import { appendUserRecords } from '../../kinesis/deaggregate.js';
import { parseGetRecordsBody } from '../../kinesis/get-records-body.js';
import { recordsAfter } from '../../kinesis/iterator-start.js';
import { deadLetterEntry } from '../../sinks/dead-letter-entry.js';
import { deterministicGzip } from '../../sinks/s3/deterministic-gzip.js';
import { EventEncoder } from '../../sinks/s3/event-encoder.js';
import { KeyLayout, type OutputKind } from '../../sinks/s3/key-layout.js';
import type { DeadLetterEntry, LineChunk } from '../../sinks/sink.js';
import { RouteFilter, type RouteFilterConfig } from '../router.js';
import type { S3EncodingSettings } from '../../sinks/s3/encoding-settings.js';

/**
 * A GetRecords page read, decoded and encoded off the main thread, answered as a few
 * pieces per page instead of objects per record: per S3 object it belongs to, the page's
 * lines joined into one string (a `PageChunk`), and the page's first and last positions.
 * The main thread then only adds chunks to batches and tracks the page's acknowledgement
 * as one (ShardPipeline.processPage). Per record, that hand-off and the records, events,
 * acknowledgement handles and batch entries it made cost more CPU than the decoding moved
 * off the main thread (docs/performance.md).
 */

/** A page of one shard, as the poller hands it over. */
export interface PageTask {
  /** The GetRecords response body (transferred: the poller keeps no view of it). */
  readonly body: ArrayBuffer;
  readonly streamName: string;
  readonly shardId: string;
  /** Records at or below this position were handed over already (see recordsAfter). */
  readonly skipThrough: RecordPosition | null;
}

/** The lines of one page bound for one S3 object, as stored: what `S3Sink.writeChunk` adds. */
export interface PageChunk extends LineChunk {
  /** The sink's place in the router's order. */
  readonly sinkIndex: number;
}

export interface ChunkedPage {
  readonly parsed: true;
  readonly nextIterator: string | null;
  readonly millisBehindLatest: number | null;
  /** Kinesis records in the page (before de-aggregation and the skip). */
  readonly kinesisRecords: number;
  /** User records of the whole page and their data bytes (what PageSize observes). */
  readonly pageUserRecords: number;
  readonly pageDataBytes: number;
  /** The page's first user record, before the skip (the trimmed-start check). */
  readonly firstSequenceNumber: string | null;
  /** User records after the skip, their data bytes, and the last one's arrival. */
  readonly userRecords: number;
  readonly dataBytes: number;
  readonly lastArrivalMs: number | null;
  /** The last user record after the skip: the page's acknowledgement position. */
  readonly last: RecordPosition | null;
  readonly chunks: readonly PageChunk[];
  /** Undecodable records (`decode_failed`) and events a sink's encoder threw on (`sink_rejected`). */
  readonly deadLetters: readonly DeadLetterEntry[];
}

/** The body is not one the page reader takes: the poller reads the page with the SDK. */
export interface UnparsedPage {
  readonly parsed: false;
}

export type PageAnswer = ChunkedPage | UnparsedPage;

/** A sink whose events a page worker encodes into chunks (an S3 text sink). */
export interface ChunkSinkSpec {
  readonly name: string;
  readonly filter: RouteFilterConfig;
  readonly encoding: S3EncodingSettings;
  /** The sink's buffer.maxRecords and maxBytes: no chunk is larger than a batch may be. */
  readonly maxEvents: number;
  readonly maxBytes: number;
  /** The sink's `gzipLevel`, for `compression: gzip` (`encoding.layout.compression`). */
  readonly gzipLevel: number;
}

export interface PageChunkerSpec {
  readonly decodeFormat: Parameters<typeof createDecoder>[0];
  readonly streamInIds: boolean;
  readonly sinks: readonly ChunkSinkSpec[];
}

interface SinkChunking {
  readonly spec: ChunkSinkSpec;
  readonly index: number;
  readonly filter: RouteFilter;
  readonly encoder: EventEncoder;
  readonly layout: KeyLayout;
}

/** The lines gathered for one object key while a page is read. */
interface OpenChunk {
  readonly sink: SinkChunking;
  readonly kind: LineChunk['kind'];
  readonly shapeId: string | null;
  readonly directory: string;
  readonly arrivalHour: number;
  firstArrivalMs: number;
  oldestArrivalMs: number;
  lines: string[];
  bytes: number;
}

const HOUR_MS = 3_600_000;

export class PageChunker {
  private readonly decoder: Decoder;
  private readonly sinks: readonly SinkChunking[];

  constructor(spec: PageChunkerSpec) {
    this.decoder = createDecoder(spec.decodeFormat, { streamInIds: spec.streamInIds });
    this.sinks = spec.sinks.map((sink, index) => ({
      spec: sink,
      index,
      filter: new RouteFilter(sink.filter),
      encoder: new EventEncoder(sink.encoding.format, sink.encoding.verbatimJson, csvShapeFor),
      layout: new KeyLayout({ ...sink.encoding.layout, resolveShape: csvShapeFor }),
    }));
  }

  async chunkPage(task: PageTask): Promise<PageAnswer> {
    const body = parseGetRecordsBody(new Uint8Array(task.body));
    if (body === null) return { parsed: false };
    const kinesisRecords: readonly _Record[] = body.Records ?? [];
    const all: UserRecord[] = [];
    for (const record of kinesisRecords) {
      appendUserRecords(record, task.streamName, task.shardId, all);
    }
    return this.chunkRecords(all, task.skipThrough, {
      nextIterator: body.NextShardIterator ?? null,
      millisBehindLatest: body.MillisBehindLatest ?? null,
      kinesisRecords: kinesisRecords.length,
    });
  }

  /**
   * The user records of a page as chunks: what chunkPage does once the body is read, and
   * what the main thread does with a page the SDK read (ShardPipeline.process), so that a
   * sink taking chunks gets nothing else.
   */
  async chunkRecords(
    all: readonly UserRecord[],
    skipThrough: RecordPosition | null,
    page: Pick<ChunkedPage, 'nextIterator' | 'millisBehindLatest' | 'kinesisRecords'>,
  ): Promise<ChunkedPage> {
    let pageDataBytes = 0;
    for (const record of all) pageDataBytes += record.data.byteLength;
    const records = recordsAfter([...all], skipThrough);
    const open = new Map<string, OpenChunk>();
    const texts: ChunkText[] = [];
    const deadLetters: DeadLetterEntry[] = [];
    let dataBytes = 0;
    for (const record of records) {
      dataBytes += record.data.byteLength;
      const result = this.decoder.decode(record);
      if (!result.ok) {
        deadLetters.push(deadLetterEntry(record, 'decode_failed', result.error));
        continue;
      }
      for (const event of result.events) {
        for (const sink of this.sinks) {
          if (!sink.filter.accepts(event.type, event.format, record.streamName)) continue;
          let line: string;
          let bytes: number;
          let kind: OutputKind;
          let shapeId: string | null;
          let directory: string;
          try {
            const encoded = sink.encoder.encode(event);
            ({ line, bytes, kind } = encoded);
            shapeId = encoded.shape?.id ?? null;
            directory = sink.layout.directory(event, kind);
          } catch (error) {
            // As the sink's own write would: it cannot take the event (see ShardPipeline.refuse).
            const reason = `sink ${sink.spec.name} could not take the event: ${errorMessage(error)}`;
            deadLetters.push(deadLetterEntry(record, 'sink_rejected', reason, sink.spec.name));
            continue;
          }
          // chunkerSpec takes CSV and JSON Lines sinks only.
          if (kind === 'parquet') throw new Error('unreachable: a Parquet row in a page chunk');
          const arrivalMs = record.approximateArrivalTimestamp.getTime();
          const arrivalHour = Math.floor(arrivalMs / HOUR_MS);
          const key = `${sink.index}|${kind}|${shapeId ?? ''}|${arrivalHour}|${directory}`;
          let chunk = open.get(key);
          if (
            chunk &&
            (chunk.lines.length >= sink.spec.maxEvents || chunk.bytes + bytes > sink.spec.maxBytes)
          ) {
            texts.push(closeChunk(chunk));
            chunk = undefined;
          }
          if (!chunk) {
            chunk = {
              sink,
              kind,
              shapeId,
              directory,
              arrivalHour,
              firstArrivalMs: arrivalMs,
              oldestArrivalMs: arrivalMs,
              lines: [],
              bytes: 0,
            };
            open.set(key, chunk);
          }
          chunk.lines.push(line);
          chunk.bytes += bytes;
          if (arrivalMs < chunk.oldestArrivalMs) chunk.oldestArrivalMs = arrivalMs;
        }
      }
    }
    for (const chunk of open.values()) if (chunk.lines.length > 0) texts.push(closeChunk(chunk));
    // Compressed here, on libuv's threads, as the objects store them: what the main thread
    // then holds, and hands over, is a page's compressed bytes.
    const chunks = await Promise.all(texts.map((text) => this.stored(text)));
    const first = all[0];
    const last = records[records.length - 1];
    return {
      parsed: true,
      ...page,
      pageUserRecords: all.length,
      pageDataBytes,
      firstSequenceNumber: first ? first.sequenceNumber : null,
      userRecords: records.length,
      dataBytes,
      lastArrivalMs: last ? last.approximateArrivalTimestamp.getTime() : null,
      last: last
        ? { sequenceNumber: last.sequenceNumber, subSequenceNumber: last.subSequenceNumber }
        : null,
      chunks,
      deadLetters,
    };
  }

  /** The chunk with its lines as its object stores them: a gzip member, or UTF-8 bytes. */
  private async stored({ text, ...chunk }: ChunkText): Promise<PageChunk> {
    const sink = this.sinks[chunk.sinkIndex];
    if (!sink) throw new Error(`unreachable: no sink ${chunk.sinkIndex}`);
    const utf8 = Buffer.from(text);
    const stored =
      sink.spec.encoding.layout.compression === 'gzip'
        ? await deterministicGzip(utf8, sink.spec.gzipLevel)
        : utf8;
    // Bytes of their own: a small Buffer may be a view of Node's shared pool, which the
    // structured clone to the main thread would copy whole.
    return { ...chunk, body: new Uint8Array(stored) };
  }
}

/** A chunk's lines joined, before they are stored as its body. */
type ChunkText = Omit<PageChunk, 'body'> & { readonly text: string };

/** The chunk's lines as one string; its entry is left empty for the next lines of the key. */
function closeChunk(chunk: OpenChunk): ChunkText {
  const closed: ChunkText = {
    sinkIndex: chunk.sink.index,
    kind: chunk.kind,
    shapeId: chunk.shapeId,
    directory: chunk.directory,
    arrivalHour: chunk.arrivalHour,
    firstArrivalMs: chunk.firstArrivalMs,
    oldestArrivalMs: chunk.oldestArrivalMs,
    text: chunk.lines.join(''),
    events: chunk.lines.length,
    bytes: chunk.bytes,
  };
  chunk.lines = [];
  chunk.bytes = 0;
  return closed;
}
