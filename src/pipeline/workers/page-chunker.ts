import { errorMessage } from '../../core/errors.js';
import { releaseNow } from '../../core/release-now.js';
import { comparePositions, type RecordPosition, type UserRecord } from '../../core/record.js';
import { createDecoder, csvShapeFor, type Decoder } from '../../decode/index.js';
import { appendUserRecords } from '../../kinesis/deaggregate.js';
import { readGetRecordsBody } from '../../kinesis/get-records-body.js';
import { deadLetterEntry } from '../../sinks/dead-letter-entry.js';
import { deterministicGzip } from '../../sinks/s3/deterministic-gzip.js';
import { EventEncoder } from '../../sinks/s3/event-encoder.js';
import { KeyLayout, type OutputKind } from '../../sinks/s3/key-layout.js';
import { compressKeptRecords, KeptRecordsWriter } from '../../sinks/kept-records.js';
import type { DeadLetterEntry, LineChunk } from '../../sinks/sink.js';
import { RouteFilter, type RouteFilterConfig } from '../router.js';
import type { S3EncodingSettings } from '../../sinks/s3/encoding-settings.js';
import { LineBytes } from './line-bytes.js';

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
  /**
   * The sink has a dead-letter destination: each chunk carries its events' records, for
   * the entries of a batch that gives up (sinks/kept-records.ts).
   */
  readonly keepsRecords: boolean;
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
  /** The lines as UTF-8, written as they come: no line string outlives its record. */
  readonly text: LineBytes;
  /** The events' records, packed as they come, where the sink keeps them (keepsRecords). */
  readonly records: KeptRecordsWriter | null;
  events: number;
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

  /**
   * The body read record by record, each one decoded and encoded before the next is read:
   * only the page's lines and a few counters outlive a record. Holding the page's records
   * until its end made each one survive the scavenges of the page and be promoted, which
   * filled the thread's old generation (docs/performance.md).
   */
  async chunkPage(task: PageTask): Promise<PageAnswer> {
    const encoding = new PageEncoding(this.decoder, this.sinks, task.skipThrough);
    const userRecords: UserRecord[] = [];
    const body = new Uint8Array(task.body);
    const head = readGetRecordsBody(body, (record) => {
      userRecords.length = 0;
      appendUserRecords(record, task.streamName, task.shardId, userRecords);
      for (const userRecord of userRecords) encoding.add(userRecord);
    });
    // Nothing of the page's bytes is held past here (dead-letter entries copy theirs):
    // freed now, not when the thread's collector gets to them (see releaseNow).
    releaseNow(body);
    if (head?.data) releaseNow(head.data);
    if (head === null) return { parsed: false };
    return this.finish(encoding, {
      nextIterator: head.NextShardIterator ?? null,
      millisBehindLatest: head.MillisBehindLatest ?? null,
      kinesisRecords: head.recordCount,
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
    page: PageHead,
  ): Promise<ChunkedPage> {
    const encoding = new PageEncoding(this.decoder, this.sinks, skipThrough);
    for (const record of all) encoding.add(record);
    return this.finish(encoding, page);
  }

  /**
   * The page's chunks compressed, on libuv's threads, as the objects store them: what the
   * main thread then holds, and hands over, is a page's compressed bytes. Only their
   * bytes wait for zlib (the thread reads its next page meanwhile).
   */
  private async finish(encoding: PageEncoding, page: PageHead): Promise<ChunkedPage> {
    const { inputs, ...answer } = encoding.finish(page);
    const chunks = await Promise.all(inputs.map((input) => this.stored(input)));
    return { ...answer, chunks };
  }

  /**
   * The chunk with its lines as its object stores them (a gzip member, or UTF-8 bytes) and
   * its records, where it carries them, compressed too (kept-records.ts), side by side.
   */
  private async stored({ utf8, records, ...chunk }: ChunkInput): Promise<PageChunk> {
    const sink = this.sinks[chunk.sinkIndex];
    if (!sink) throw new Error(`unreachable: no sink ${chunk.sinkIndex}`);
    const [stored, compressedRecords] = await Promise.all([
      sink.spec.encoding.layout.compression === 'gzip'
        ? deterministicGzip(utf8, sink.spec.gzipLevel)
        : utf8,
      records === null ? null : compressKeptRecords(records),
    ]);
    // Bytes of their own, to be transferred to the main thread (decode-worker): a small
    // Buffer may be a view of Node's shared pool, and zlib's output of a larger buffer.
    const own = stored.byteOffset === 0 && stored.byteLength === stored.buffer.byteLength;
    const body = own ? new Uint8Array(stored.buffer) : new Uint8Array(stored);
    if (stored !== utf8) releaseNow(utf8);
    if (!own) releaseNow(stored);
    return { ...chunk, body, records: compressedRecords };
  }
}

type PageHead = Pick<ChunkedPage, 'nextIterator' | 'millisBehindLatest' | 'kinesisRecords'>;

/** One page's user records, taken one at a time: its counters and its open chunks. */
class PageEncoding {
  private pageUserRecords = 0;
  private pageDataBytes = 0;
  private firstSequenceNumber: string | null = null;
  private userRecords = 0;
  private dataBytes = 0;
  private last: RecordPosition | null = null;
  private lastArrivalMs: number | null = null;
  private readonly open = new Map<string, OpenChunk>();
  private readonly inputs: ChunkInput[] = [];
  private readonly deadLetters: DeadLetterEntry[] = [];

  constructor(
    private readonly decoder: Decoder,
    private readonly sinks: readonly SinkChunking[],
    /** Records at or below it are skipped; null once one above it came (recordsAfter). */
    private skipThrough: RecordPosition | null,
  ) {}

  add(record: UserRecord): void {
    this.pageUserRecords += 1;
    this.pageDataBytes += record.data.byteLength;
    if (this.firstSequenceNumber === null) this.firstSequenceNumber = record.sequenceNumber;
    if (this.skipThrough) {
      if (comparePositions(record, this.skipThrough) <= 0) return;
      this.skipThrough = null;
    }
    this.userRecords += 1;
    this.dataBytes += record.data.byteLength;
    const arrivalMs = record.approximateArrivalTimestamp.getTime();
    this.last = {
      sequenceNumber: record.sequenceNumber,
      subSequenceNumber: record.subSequenceNumber,
    };
    this.lastArrivalMs = arrivalMs;
    const result = this.decoder.decode(record);
    if (!result.ok) {
      this.deadLetters.push(deadLetterEntry(record, 'decode_failed', result.error));
      return;
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
          this.deadLetters.push(deadLetterEntry(record, 'sink_rejected', reason, sink.spec.name));
          continue;
        }
        // chunkerSpec takes CSV and JSON Lines sinks only.
        if (kind === 'parquet') throw new Error('unreachable: a Parquet row in a page chunk');
        const arrivalHour = Math.floor(arrivalMs / HOUR_MS);
        const key = `${sink.index}|${kind}|${shapeId ?? ''}|${arrivalHour}|${directory}`;
        let chunk = this.open.get(key);
        if (
          chunk &&
          (chunk.events >= sink.spec.maxEvents || chunk.text.length + bytes > sink.spec.maxBytes)
        ) {
          this.inputs.push(closeChunk(chunk));
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
            text: new LineBytes(),
            records: sink.spec.keepsRecords ? new KeptRecordsWriter() : null,
            events: 0,
          };
          this.open.set(key, chunk);
        }
        chunk.text.write(line, bytes);
        chunk.records?.add(record);
        chunk.events += 1;
        if (arrivalMs < chunk.oldestArrivalMs) chunk.oldestArrivalMs = arrivalMs;
      }
    }
  }

  /** The page's answer, its chunks as UTF-8 still to be stored; the lines are let go. */
  finish(page: PageHead): Omit<ChunkedPage, 'chunks'> & { readonly inputs: ChunkInput[] } {
    for (const chunk of this.open.values()) {
      if (chunk.events > 0) this.inputs.push(closeChunk(chunk));
    }
    this.open.clear();
    const inputs = this.inputs.splice(0);
    return {
      parsed: true,
      ...page,
      pageUserRecords: this.pageUserRecords,
      pageDataBytes: this.pageDataBytes,
      firstSequenceNumber: this.firstSequenceNumber,
      userRecords: this.userRecords,
      dataBytes: this.dataBytes,
      lastArrivalMs: this.lastArrivalMs,
      last: this.last,
      deadLetters: this.deadLetters,
      inputs,
    };
  }
}

/** A chunk's lines as UTF-8 and its records packed, to be stored. */
type ChunkInput = Omit<PageChunk, 'body'> & { readonly utf8: Buffer };

/** The chunk's lines, its own bytes; its entry is left empty for the next lines of the key. */
function closeChunk(chunk: OpenChunk): ChunkInput {
  const bytes = chunk.text.length;
  const closed: ChunkInput = {
    sinkIndex: chunk.sink.index,
    kind: chunk.kind,
    shapeId: chunk.shapeId,
    directory: chunk.directory,
    arrivalHour: chunk.arrivalHour,
    firstArrivalMs: chunk.firstArrivalMs,
    oldestArrivalMs: chunk.oldestArrivalMs,
    utf8: chunk.text.take(),
    events: chunk.events,
    bytes,
    records: chunk.records?.take() ?? null,
  };
  chunk.events = 0;
  return closed;
}
