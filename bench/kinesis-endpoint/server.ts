import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import {
  buildTemplate,
  positionOf,
  recordPieces,
  sequenceNumberAt,
  type RecordTemplate,
} from './record-template.js';
import { ShardLimits } from './shard-limits.js';

/*
 * A benchmark-only Kinesis read endpoint: the AWS JSON 1.1 protocol (POST /, header
 * X-Amz-Target: Kinesis_20131202.<Operation>, content type application/x-amz-json-1.1,
 * errors as {"__type": ...}), which is what @aws-sdk/client-kinesis v3 and aws-sdk v2 send
 * for Kinesis, so both talk to it unchanged. It serves one stream of pre-generated records
 * from memory. It is a measuring instrument, not a test double: no writes, no resharding.
 */

export interface EndpointOptions {
  readonly streamName: string;
  readonly shardCount: number;
  /** Backlog depth of every shard, in records. */
  readonly recordsPerShard: number;
  readonly recordBytes?: number;
  /** Distinct records held in memory (later positions repeat them with new sequence numbers). */
  readonly templateRecords?: number;
  /** Enforce Kinesis' 5 calls/s and 2 MB/s per shard. */
  readonly limits?: boolean;
  /** The rate the backlog was written at, per shard: what MillisBehindLatest is derived from. */
  readonly writeRatePerShard?: number;
  readonly port?: number;
  /**
   * How long an iterator stays valid (AWS: 5 minutes); GetRecords with an older one gets
   * ExpiredIteratorException. Unset: iterators never expire. The chaos scenarios shorten
   * it so "a sink down longer than the iterator lifetime" takes seconds.
   */
  readonly iteratorLifetimeMs?: number;
  /**
   * Positions below this are past the retention period (trimmed): TRIM_HORIZON starts
   * here, and an AT/AFTER_SEQUENCE_NUMBER iterator for a trimmed record is answered per
   * `trimmedIterator`.
   */
  readonly trimmedBelow?: number;
  /**
   * `error`: InvalidArgumentException; `trim-horizon`: an iterator at the trim horizon
   * (the records in between are silently gone). Default `error`.
   */
  readonly trimmedIterator?: 'error' | 'trim-horizon';
}

export interface EndpointCounters {
  records: number;
  bytes: number;
  calls: number;
  throttled: number;
  /** GetRecords calls answered ExpiredIteratorException. */
  expired: number;
  /** Records served again at a position already served (a re-read). */
  reread: number;
  /** GetShardIterator calls for a trimmed sequence number. */
  trimmedRequests: number;
}

const MAX_RECORDS_PER_CALL = 10_000;
const MAX_DATA_BYTES_PER_CALL = 10 * 1024 * 1024;
const ACCOUNT = '123456789012';

class ProtocolError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

interface ShardState {
  readonly id: string;
  readonly limits: ShardLimits;
  /** Furthest position served, for progress reporting. */
  served: number;
}

export class BenchKinesisEndpoint {
  readonly counters: EndpointCounters = {
    records: 0,
    bytes: 0,
    calls: 0,
    throttled: 0,
    expired: 0,
    reread: 0,
    trimmedRequests: 0,
  };
  readonly template: RecordTemplate;
  readonly streamArn: string;
  private readonly shards: ShardState[];
  private readonly createdAt = Date.now();
  private server: Server | undefined;
  endpoint = '';

  constructor(readonly options: EndpointOptions) {
    const size = Math.min(options.templateRecords ?? 20_000, options.recordsPerShard);
    this.template = buildTemplate(Math.max(1, size), options.recordBytes ?? 500, Date.now());
    this.streamArn = `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${options.streamName}`;
    this.shards = Array.from({ length: options.shardCount }, (_, index) => ({
      id: `shardId-${String(index).padStart(12, '0')}`,
      limits: new ShardLimits(),
      served: 0,
    }));
  }

  async start(): Promise<string> {
    const server = createServer((request, response) => this.handle(request, response));
    server.keepAliveTimeout = 60_000;
    this.server = server;
    await new Promise<void>((resolve) =>
      server.listen(this.options.port ?? 0, '127.0.0.1', resolve),
    );
    this.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.endpoint;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  get totalRecords(): number {
    return this.options.shardCount * this.options.recordsPerShard;
  }

  /** Forgets what was served (a new run reads the same stream from the start). */
  resetCounters(): void {
    Object.assign(this.counters, {
      records: 0,
      bytes: 0,
      calls: 0,
      throttled: 0,
      expired: 0,
      reread: 0,
      trimmedRequests: 0,
    });
    for (const shard of this.shards) shard.served = 0;
  }

  /** Shards whose every record has been served at least once. */
  shardsReadToEnd(): number {
    return this.shards.filter((shard) => shard.served >= this.options.recordsPerShard).length;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('Kinesis_20131202.') ? target.slice(17) : target;
      try {
        const input = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<
          string,
          unknown
        >;
        const pieces = this.dispatch(operation, input);
        let length = 0;
        for (const piece of pieces) length += piece.byteLength;
        response.writeHead(200, {
          'content-type': 'application/x-amz-json-1.1',
          'content-length': length,
          'x-amzn-requestid': randomUUID(),
        });
        for (const piece of pieces) response.write(piece);
        response.end();
      } catch (error) {
        const type = error instanceof ProtocolError ? error.type : 'InternalFailure';
        const message = error instanceof Error ? error.message : String(error);
        const body = JSON.stringify({ __type: type, message });
        response.writeHead(type === 'InternalFailure' ? 500 : 400, {
          'content-type': 'application/x-amz-json-1.1',
          'content-length': Buffer.byteLength(body),
          'x-amzn-errortype': type,
          'x-amzn-requestid': randomUUID(),
        });
        response.end(body);
      }
    });
  }

  private dispatch(operation: string, input: Record<string, unknown>): Buffer[] {
    switch (operation) {
      case 'ListShards':
        return json(this.listShards(input));
      case 'DescribeStreamSummary':
        this.checkStream(input);
        return json({ StreamDescriptionSummary: this.summary() });
      case 'DescribeStream':
        this.checkStream(input);
        return json({
          StreamDescription: { ...this.summary(), Shards: this.shardList(), HasMoreShards: false },
        });
      case 'ListTagsForStream':
        return json({ Tags: [], HasMoreTags: false });
      case 'GetShardIterator':
        return json(this.getShardIterator(input));
      case 'GetRecords':
        return this.getRecords(input);
      default:
        throw new ProtocolError(
          'UnknownOperationException',
          `${operation} is not served by the benchmark endpoint`,
        );
    }
  }

  private checkStream(input: Record<string, unknown>): void {
    const name = input['StreamName'];
    const arn = input['StreamARN'];
    if (name !== undefined && name !== this.options.streamName) throw this.notFound(String(name));
    if (arn !== undefined && arn !== this.streamArn) throw this.notFound(String(arn));
  }

  private notFound(what: string): ProtocolError {
    return new ProtocolError(
      'ResourceNotFoundException',
      `Stream ${what} under account ${ACCOUNT} not found.`,
    );
  }

  private summary() {
    return {
      StreamName: this.options.streamName,
      StreamARN: this.streamArn,
      StreamStatus: 'ACTIVE',
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      RetentionPeriodHours: 24,
      StreamCreationTimestamp: this.createdAt / 1000,
      EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
      EncryptionType: 'NONE',
      OpenShardCount: this.shards.length,
      ConsumerCount: 0,
    };
  }

  private shardList() {
    const span = 2n ** 128n / BigInt(this.shards.length);
    return this.shards.map((shard, index) => ({
      ShardId: shard.id,
      HashKeyRange: {
        StartingHashKey: String(span * BigInt(index)),
        EndingHashKey: String(
          index === this.shards.length - 1 ? 2n ** 128n - 1n : span * BigInt(index + 1) - 1n,
        ),
      },
      SequenceNumberRange: { StartingSequenceNumber: this.sequenceAt(0) },
    }));
  }

  private listShards(input: Record<string, unknown>) {
    if (input['NextToken'] === undefined) this.checkStream(input);
    // Every shard fits one page (AWS pages at 1,000).
    return { Shards: this.shardList() };
  }

  private shard(id: unknown): ShardState {
    const shard = this.shards.find((candidate) => candidate.id === id);
    if (!shard) {
      throw new ProtocolError(
        'ResourceNotFoundException',
        `Shard ${String(id)} in stream ${this.options.streamName} under account ${ACCOUNT} does not exist`,
      );
    }
    return shard;
  }

  private getShardIterator(input: Record<string, unknown>) {
    this.checkStream(input);
    const shard = this.shard(input['ShardId']);
    const depth = this.options.recordsPerShard;
    const horizon = this.options.trimmedBelow ?? 0;
    const type = input['ShardIteratorType'];
    let position: number;
    if (type === 'TRIM_HORIZON' || type === 'AT_TIMESTAMP') position = horizon;
    else if (type === 'LATEST') position = depth;
    else if (type === 'AT_SEQUENCE_NUMBER' || type === 'AFTER_SEQUENCE_NUMBER') {
      const sequenceNumber = String(input['StartingSequenceNumber']);
      const at = positionOf(sequenceNumber, this.template.size);
      if (at === null) {
        throw new ProtocolError('InvalidArgumentException', 'StartingSequenceNumber is not valid');
      }
      position = type === 'AT_SEQUENCE_NUMBER' ? at : at + 1;
      if (at < horizon) {
        this.counters.trimmedRequests += 1;
        if ((this.options.trimmedIterator ?? 'error') === 'error') {
          throw new ProtocolError(
            'InvalidArgumentException',
            `StartingSequenceNumber ${sequenceNumber} used in GetShardIterator on shard ${shard.id} in stream ${this.options.streamName} under account ${ACCOUNT} is invalid because it is older than the retention period.`,
          );
        }
        position = horizon;
      }
    } else throw new ProtocolError('InvalidArgumentException', `ShardIteratorType ${String(type)}`);
    return { ShardIterator: iteratorFor(shard.id, Math.min(position, depth)) };
  }

  private getRecords(input: Record<string, unknown>): Buffer[] {
    const { shardId, position, issuedAt } = parseIterator(input['ShardIterator']);
    const shard = this.shard(shardId);
    this.counters.calls += 1;
    const lifetime = this.options.iteratorLifetimeMs;
    if (lifetime !== undefined && Date.now() - issuedAt > lifetime) {
      this.counters.expired += 1;
      throw new ProtocolError(
        'ExpiredIteratorException',
        `Iterator expired. The iterator was created at time ${new Date(issuedAt).toUTCString()} while right now it is ${new Date().toUTCString()} which is further in the future than the tolerated delay of ${lifetime} milliseconds.`,
      );
    }
    if (this.options.limits && !shard.limits.admit()) {
      this.counters.throttled += 1;
      throw new ProtocolError(
        'ProvisionedThroughputExceededException',
        `Rate exceeded for shard ${shard.id} in stream ${this.options.streamName} under account ${ACCOUNT}.`,
      );
    }
    const depth = this.options.recordsPerShard;
    const limit = Math.min(Number(input['Limit'] ?? MAX_RECORDS_PER_CALL), MAX_RECORDS_PER_CALL);
    const byBytes = Math.max(1, Math.floor(MAX_DATA_BYTES_PER_CALL / this.template.dataBytes));
    const to = Math.min(depth, position + limit, position + byBytes);
    const count = Math.max(0, to - position);
    const bytes = Math.round(count * this.template.dataBytes);
    shard.limits.spend(bytes);
    this.counters.records += count;
    this.counters.bytes += bytes;
    this.counters.reread += Math.max(0, Math.min(to, shard.served) - position);
    shard.served = Math.max(shard.served, to);
    const writeRate = this.options.writeRatePerShard ?? 1000;
    const behind = Math.round(((depth - Math.max(to, position)) / writeRate) * 1000);
    const tail =
      `],"NextShardIterator":"${iteratorFor(shard.id, Math.max(to, position))}",` +
      `"MillisBehindLatest":${behind}}`;
    return [
      Buffer.from('{"Records":['),
      ...(count > 0 ? recordPieces(this.template, position, to) : []),
      Buffer.from(tail),
    ];
  }

  private sequenceAt(position: number): string {
    return sequenceNumberAt(position, this.template.size);
  }
}

function json(value: unknown): Buffer[] {
  return [Buffer.from(JSON.stringify(value))];
}

function iteratorFor(shardId: string, position: number): string {
  // Opaque to clients, as AWS's are; long enough to look like one. It carries its issue
  // time, for iteratorLifetimeMs.
  return Buffer.from(`bench:${shardId}:${position}:${Date.now()}:${'0'.repeat(48)}`).toString(
    'base64',
  );
}

function parseIterator(iterator: unknown): { shardId: string; position: number; issuedAt: number } {
  const [tag, shardId, position, issuedAt] = Buffer.from(String(iterator), 'base64')
    .toString()
    .split(':');
  if (
    tag !== 'bench' ||
    !shardId ||
    position === undefined ||
    !/^\d+$/.test(position) ||
    issuedAt === undefined ||
    !/^\d+$/.test(issuedAt)
  ) {
    throw new ProtocolError('InvalidArgumentException', 'ShardIterator is not valid');
  }
  return { shardId, position: Number(position), issuedAt: Number(issuedAt) };
}
