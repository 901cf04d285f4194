/*
 * The S3 sink's per-event encoding (EventEncoder.encode, CSV) of two builds compared in
 * one process, rounds interleaved: the same 500-byte Pinpoint events, each build encoding
 * what its own decoder made of them (the
 * pipeline benchmarks' payload) encoded by each build, CPU per event. Before timing, the
 * two builds must write the same lines and count the same bytes, on the benchmark's events
 * and on events whose fields hold quotes, commas, CR/LF and non-ASCII text.
 *
 *   npm run build && npx tsx bench/csv-encode-ab.ts <dist A> [dist B = dist] [rounds = 8]
 *   (BENCH_EVENTS=airship: the demo's Airship events instead, JSON-only types included;
 *   BENCH_DECODE=1: times decoding each record (the `auto` decoder) and encoding its events)
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RelayEvent } from '../src/core/event.js';
import type { UserRecord } from '../src/core/record.js';
import { airshipEvent } from '../src/demo/sample-events.js';
import { pinpointEventBytes } from './lib/pinpoint-records.js';

const [distA, distB = 'dist', roundsArg = '8'] = process.argv.slice(2);
if (!distA) throw new Error('usage: npx tsx bench/csv-encode-ab.ts <dist A> [dist B] [rounds]');
const rounds = Number(roundsArg);
const EVENTS = 10_000;
const PASSES = 20;

type Encode = (event: RelayEvent) => { line: string; bytes: number };

async function buildOf(dist: string) {
  const load = async <T>(path: string): Promise<T> =>
    (await import(pathToFileURL(join(resolve(dist), path)).href)) as T;
  const { createDecoder, csvShapeFor } =
    await load<typeof import('../src/decode/index.js')>('decode/index.js');
  const { EventEncoder } = await load<typeof import('../src/sinks/s3/event-encoder.js')>(
    'sinks/s3/event-encoder.js',
  );
  const encoder = new EventEncoder('csv', false, csvShapeFor);
  const encode: Encode = (event) => encoder.encode(event);
  return { decoder: createDecoder('auto'), encode };
}

const a = await buildOf(distA);
const b = await buildOf(distB);

const arrival = new Date();
function record(n: number, data: Buffer, shardId = 'shardId-000000000000'): UserRecord {
  return {
    streamName: 'bench',
    shardId,
    sequenceNumber: `4965711043293017581233615071651234560000000000${String(n).padStart(10, '0')}`,
    subSequenceNumber: n % 3,
    partitionKey: `device-${n % 4096}`,
    aggregated: false,
    approximateArrivalTimestamp: new Date(arrival.getTime() + n),
    data,
  };
}
type Build = typeof a;
function decode(build: Build, records: readonly UserRecord[]): RelayEvent[] {
  return records.flatMap((r) => {
    const result = build.decoder.decode(r);
    if (!result.ok) throw new Error(result.error);
    return result.events;
  });
}

const kind = process.env.BENCH_EVENTS;
const records = Array.from({ length: EVENTS }, (_, n) =>
  record(
    n,
    kind === 'airship'
      ? Buffer.from(JSON.stringify(airshipEvent(n, arrival.getTime() - 300)))
      : pinpointEventBytes(n, arrival.getTime() - 300),
  ),
);
// Fields that need quoting or hold multi-byte UTF-8, in every column a user can fill.
const awkward = ['a,b', 'say "hi"', '"', 'line\nbreak', 'cr\rhere', 'ünïcødé €', '𝄞', ''];
const trickyRecords = awkward.flatMap((text, n) => [
  record(n, Buffer.from(JSON.stringify({ id: text, type: text, time: 1_700_000_000_000 }))),
  record(
    n,
    Buffer.from(
      JSON.stringify({
        event_type: text || 'x',
        event_timestamp: 1_700_000_000_000,
        application: { app_id: text || 'x' },
        client: { client_id: text, cognito_id: text },
        attributes: { [text]: text },
        metrics: { [text]: 1 },
      }),
    ),
    `shard,${text}`,
  ),
]);
const eventsOf = { a: decode(a, records), b: decode(b, records) };

// BENCH_UNCHECKED=1 times a variant known to differ on the awkward events (never a change to keep).
if (!process.env.BENCH_UNCHECKED) {
  const [mine, theirs] = [
    [...eventsOf.a, ...decode(a, trickyRecords)],
    [...eventsOf.b, ...decode(b, trickyRecords)],
  ];
  mine.forEach((event, index) => {
    const other = theirs[index];
    const [x, y] = [a.encode(event), other ? b.encode(other) : null];
    if (x.line !== y?.line || x.bytes !== y.bytes) {
      throw new Error(`the builds differ:\n${JSON.stringify(x)}\n${JSON.stringify(y)}`);
    }
  });
}

const withDecode = process.env.BENCH_DECODE === '1';
function time(build: 'a' | 'b'): number {
  const { encode, decoder } = build === 'a' ? a : b;
  const events = eventsOf[build];
  const before = process.cpuUsage();
  let sink = 0;
  for (let pass = 0; pass < PASSES; pass += 1) {
    if (withDecode) {
      for (const r of records) {
        const result = decoder.decode(r);
        if (result.ok) for (const event of result.events) sink += encode(event).bytes;
      }
    } else {
      for (const event of events) sink += encode(event).bytes;
    }
  }
  const used = process.cpuUsage(before);
  if (sink === 0) throw new Error('nothing encoded');
  return ((used.user + used.system) * 1000) / (PASSES * events.length); // ns per event
}

time('a');
time('b');
const ratios: number[] = [];
const [as, bs]: number[][] = [[], []];
for (let round = 0; round < rounds; round += 1) {
  const [first, second] = round % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
  const times = { [first]: time(first), [second]: time(second) } as Record<'a' | 'b', number>;
  as.push(times.a);
  bs.push(times.b);
  ratios.push(times.b / times.a);
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? 0;
console.log(
  JSON.stringify({
    nsPerEventA: Math.round(median(as)),
    nsPerEventB: Math.round(median(bs)),
    ratioMedian: Number(median(ratios).toFixed(3)),
    ratios: ratios.map((r) => Number(r.toFixed(3))),
  }),
);
