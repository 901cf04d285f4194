/*
 * What the lease table costs in steady state: N workers of one application on an idle
 * stream of S shards, their DynamoDB calls counted by a proxy in front of dynalite, and
 * turned into DynamoDB request units by DynamoDB's own sizing rules (dynalite does not
 * report consumed capacity for scans): consistent scans and GetItems, eventually
 * consistent Queries of the owner index, writes, and the owner index's own writes.
 *
 *   npx tsx bench/lease-table-cost.ts --shards 4,256 --workers 4 --seconds 60
 *
 * Runs the built relay (dist/; `npm run build` first), with the default lease timings.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { BenchKinesisEndpoint } from './kinesis-endpoint/server.js';
import type { BenchChild } from './lib/child.js';
import { startRelay, startRelayStack, type RelayStack } from './scenarios/relay.js';

const { values: args } = parseArgs({
  options: {
    shards: { type: 'string', default: '4,256' },
    workers: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '60' },
    /** Longest wait for the leases to settle (every shard owned, no lease moving). */
    'settle-seconds': { type: 'string', default: '240' },
  },
});

type AttributeValue = Record<string, unknown>;

/** DynamoDB's item size: attribute names plus values (docs: "Item sizes and formats"). */
function valueSize(value: AttributeValue): number {
  const [type, content] = Object.entries(value)[0] ?? ['NULL', true];
  switch (type) {
    case 'S':
      return Buffer.byteLength(String(content));
    case 'N':
      return Math.ceil(String(content).replace(/^-|\.|^0+/g, '').length / 2) + 1;
    case 'B':
      return Buffer.from(String(content), 'base64').length;
    case 'SS':
      return (content as string[]).reduce((sum, s) => sum + Buffer.byteLength(s), 0);
    case 'NS':
      return (content as string[]).reduce((sum, n) => sum + valueSize({ N: n }), 0);
    case 'L':
      return 3 + (content as AttributeValue[]).reduce((sum, v) => sum + 1 + valueSize(v), 0);
    case 'M':
      return 3 + itemSize(content as Record<string, AttributeValue>);
    default:
      return 1; // BOOL, NULL
  }
}

function itemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + valueSize(value),
    0,
  );
}

interface CallCounts {
  calls: Map<string, number>;
  /** Read units of all reads (the three below). */
  readUnits: number;
  /** Consistent scans: each page its items' bytes in 4 KB units. */
  scanReadUnits: number;
  /** Queries of the owner index (eventually consistent): half a unit per 4 KB, 0.5 at least. */
  queryReadUnits: number;
  /** Consistent GetItems: a unit per 4 KB, 1 at least. */
  getReadUnits: number;
  writeUnits: number;
  /**
   * Writes to the owner index: an update that sets or removes `leaseOwner` rewrites the
   * item's index entry (counted as 2: the old entry out, the new one in; an upper bound).
   * Renewals and checkpoints leave the index alone (KEYS_ONLY: no projected attribute moves).
   */
  indexWriteUnits: number;
  /** Bytes each Scan page read, to say what one full scan costs. */
  scanPages: number;
  largestItem: number;
}

const WRITES = new Set(['UpdateItem', 'PutItem', 'DeleteItem']);

/** Whether an UpdateItem request sets or removes `leaseOwner` (not just tests it). */
function changesOwner(request: Buffer): boolean {
  const { UpdateExpression, ExpressionAttributeNames } = JSON.parse(request.toString('utf8')) as {
    UpdateExpression?: string;
    ExpressionAttributeNames?: Record<string, string>;
  };
  const names = Object.entries(ExpressionAttributeNames ?? {})
    .filter(([, name]) => name === 'leaseOwner')
    .map(([placeholder]) => placeholder);
  return names.some((name) => (UpdateExpression ?? '').split(/[\s,=]+/).includes(name));
}

/** A counting proxy in front of dynalite: every call by operation, and its units. */
async function countingProxy(target: string): Promise<{
  url: string;
  counts: CallCounts;
  reset(): void;
  close(): Promise<void>;
}> {
  const upstream = new URL(target);
  const fresh = (): CallCounts => ({
    calls: new Map(),
    readUnits: 0,
    scanReadUnits: 0,
    queryReadUnits: 0,
    getReadUnits: 0,
    writeUnits: 0,
    indexWriteUnits: 0,
    scanPages: 0,
    largestItem: 0,
  });
  let counts = fresh();
  const server: Server = createServer((req, res) => {
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
    const body: Buffer[] = [];
    req.on('data', (chunk: Buffer) => body.push(chunk));
    req.on('end', () => {
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => {
            const text = Buffer.concat(chunks);
            account(operation, answer.statusCode ?? 500, text, Buffer.concat(body));
            res.writeHead(answer.statusCode ?? 500, answer.headers);
            res.end(text);
          });
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(Buffer.concat(body));
    });
  });
  function account(operation: string, status: number, text: Buffer, sent: Buffer): void {
    counts.calls.set(operation, (counts.calls.get(operation) ?? 0) + 1);
    const answer = () => JSON.parse(text.toString('utf8')) as Record<string, unknown>;
    const sizesOf = (items: unknown) =>
      ((items ?? []) as AttributeValue[]).map((item) =>
        itemSize(item as Record<string, AttributeValue>),
      );
    if (operation === 'Scan' && status === 200) {
      const sizes = sizesOf(answer().Items);
      counts.largestItem = Math.max(counts.largestItem, ...sizes);
      // A scan page costs its items' total size in 4 KB units, rounded up once per page.
      const units = Math.max(1, Math.ceil(sizes.reduce((a, b) => a + b, 0) / 4096));
      counts.scanReadUnits += units;
      counts.readUnits += units;
      counts.scanPages += 1;
    } else if (operation === 'Query' && status === 200) {
      // A query of a global secondary index is eventually consistent: half a unit per 4 KB
      // of the items returned (their projected attributes: here the keys), half at least.
      const bytes = sizesOf(answer().Items).reduce((a, b) => a + b, 0);
      const units = 0.5 * Math.max(1, Math.ceil(bytes / 4096));
      counts.queryReadUnits += units;
      counts.readUnits += units;
    } else if (operation === 'GetItem' && status === 200) {
      const item = answer().Item as Record<string, AttributeValue> | undefined;
      const units = Math.max(1, Math.ceil((item ? itemSize(item) : 0) / 4096));
      counts.getReadUnits += units;
      counts.readUnits += units;
    } else if (WRITES.has(operation)) {
      // Lease items stay under 1 KB (largestItem says so): one write unit each, refused
      // conditional writes included (DynamoDB charges those too).
      counts.writeUnits += Math.max(1, Math.ceil(counts.largestItem / 1024));
      if (status === 200 && operation === 'UpdateItem' && changesOwner(sent))
        counts.indexWriteUnits += 2;
    }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get counts() {
      return counts;
    },
    reset: () => {
      const largest = counts.largestItem;
      counts = fresh();
      counts.largestItem = largest;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function ownersOf(proxyStack: RelayStack, table: string): Promise<Map<string, number>> {
  const { DynamoDBClient, ScanCommand } = await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: proxyStack.dynamo.endpoint,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  try {
    const owners = new Map<string, number>();
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({ TableName: table, ExclusiveStartKey: start as never }),
      );
      for (const item of page.Items ?? []) {
        // A lease being handed over counts apart: the spread is of settled leases.
        const owner = item.checkpointOwner?.S ? '(handoff)' : (item.leaseOwner?.S ?? '');
        owners.set(owner, (owners.get(owner) ?? 0) + 1);
      }
      start = page.LastEvaluatedKey as Record<string, AttributeValue> | undefined;
    } while (start);
    return owners;
  } catch {
    return new Map();
  } finally {
    client.destroy();
  }
}

async function measure(shards: number, workers: number, seconds: number): Promise<void> {
  const stack = await startRelayStack();
  const proxy = await countingProxy(stack.dynamo.endpoint);
  const endpoint = new BenchKinesisEndpoint({
    streamName: `lease-cost-${shards}`,
    shardCount: shards,
    recordsPerShard: 0,
  });
  await endpoint.start();
  const application = `lease-cost-${randomBytes(3).toString('hex')}`;
  // The relays talk to DynamoDB through the proxy; this script reads the table directly.
  const viaProxy: RelayStack = { ...stack, dynamo: { ...stack.dynamo, endpoint: proxy.url } };
  const relays: BenchChild[] = [];
  try {
    for (let i = 0; i < workers; i += 1) {
      relays.push(
        startRelay(
          { endpoint: endpoint.endpoint, streamName: endpoint.options.streamName },
          viaProxy,
          {
            application,
          },
        ),
      );
    }
    // Settled: every shard owned and the owners' counts unchanged for 30 s.
    const settleBy = Date.now() + Number(args['settle-seconds']) * 1000;
    let last = '';
    let stableSince = Date.now();
    while (Date.now() < settleBy) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const owners = await ownersOf(stack, application);
      const owned = [...owners].filter(([owner]) => owner).reduce((sum, [, n]) => sum + n, 0);
      const shape = JSON.stringify([...owners].sort());
      if (shape !== last || owned < shards) {
        last = shape;
        stableSince = Date.now();
      } else if (Date.now() - stableSince >= 30_000) break;
    }
    const settled = await ownersOf(stack, application);
    const handoffs = settled.get('(handoff)') ?? 0;
    settled.delete('(handoff)');
    const spread = [...settled.values()].sort((a, b) => a - b);
    proxy.reset();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const { calls, readUnits, writeUnits, scanPages, largestItem } = proxy.counts;
    const { scanReadUnits, queryReadUnits, getReadUnits, indexWriteUnits } = proxy.counts;
    const perMinute = (n: number) => (n * 60) / seconds;
    const scans = calls.get('Scan') ?? 0;
    const row = {
      shards,
      workers,
      leasesPerWorker: spread.join('/'),
      handoffsInProgress: handoffs,
      callsPerMinute: Object.fromEntries(
        [...calls].map(([operation, n]) => [operation, Math.round(perMinute(n))]),
      ),
      scansPerWorkerPerMinute: +(perMinute(scans) / workers).toFixed(1),
      scanPagesPerScan: +(scanPages / Math.max(1, scans)).toFixed(2),
      readUnitsPerMinute: Math.round(perMinute(readUnits)),
      readUnitsPerMinuteBy: {
        scan: Math.round(perMinute(scanReadUnits)),
        query: +perMinute(queryReadUnits).toFixed(1),
        getItem: Math.round(perMinute(getReadUnits)),
      },
      writeUnitsPerMinute: Math.round(perMinute(writeUnits)),
      indexWriteUnitsPerMinute: Math.round(perMinute(indexWriteUnits)),
      readUnitsPerShardPerMinute: +(perMinute(readUnits) / shards).toFixed(2),
      writeUnitsPerShardPerMinute: +(perMinute(writeUnits + indexWriteUnits) / shards).toFixed(2),
      largestLeaseItemBytes: largestItem,
    };
    console.log(JSON.stringify(row));
  } finally {
    await Promise.allSettled(relays.map((relay) => relay.stop(5000)));
    await endpoint.stop();
    await proxy.close();
    await stack.stop();
  }
}

for (const shards of String(args.shards).split(',').map(Number)) {
  await measure(shards, Number(args.workers), Number(args.seconds));
}
