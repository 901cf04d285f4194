import { pinpointEventBytes } from '../lib/pinpoint-records.js';

/*
 * The records a benchmark stream serves, pre-serialized once as the JSON fragments of a
 * GetRecords response, so serving a page costs a slice (and at most a copy), not a
 * serialization: the endpoint must never be the bottleneck it is there to remove.
 *
 * A shard of depth D serves template record (p mod T) at position p. Its sequence number
 * is 56 digits, as AWS's are: a fixed 36-digit prefix, then the lap (p div T) and the
 * index (p mod T) as 10 digits each, so positions are unique, increasing and readable back.
 */

const SEQUENCE_PREFIX = '49657110432930175812336150716512345678'.slice(0, 36);
const FRAGMENT_HEAD = ',{"SequenceNumber":"';
/** Offset of the 10 lap digits from the start of a fragment. */
const LAP_OFFSET = FRAGMENT_HEAD.length + SEQUENCE_PREFIX.length;
const DIGITS = 10;

export interface RecordTemplate {
  /** The fragments back to back, each starting with a comma. */
  readonly bytes: Buffer;
  /** offsets[i] is where fragment i starts; offsets[T] is the end. */
  readonly offsets: Int32Array;
  /** Record data bytes (before base64) of each template record. */
  readonly dataBytes: number;
  readonly size: number;
}

export function sequenceNumberAt(position: number, templateSize: number): string {
  const lap = Math.floor(position / templateSize);
  const index = position % templateSize;
  return `${SEQUENCE_PREFIX}${pad(lap)}${pad(index)}`;
}

/** The position a sequence number names, or null if it is none of ours. */
export function positionOf(sequenceNumber: string, templateSize: number): number | null {
  if (!/^\d{56}$/.test(sequenceNumber) || !sequenceNumber.startsWith(SEQUENCE_PREFIX)) return null;
  const lap = Number(sequenceNumber.slice(36, 46));
  const index = Number(sequenceNumber.slice(46));
  return lap * templateSize + index;
}

/**
 * `size` Pinpoint events of `recordBytes` each, arrived one `arrivalSpacingMs` apart
 * ending at `arrivedBy` (ms since epoch).
 */
export function buildTemplate(
  size: number,
  recordBytes: number,
  arrivedBy: number,
  arrivalSpacingMs = 1,
): RecordTemplate {
  const parts: Buffer[] = [];
  const offsets = new Int32Array(size + 1);
  let offset = 0;
  let dataBytes = 0;
  for (let i = 0; i < size; i += 1) {
    const arrival = arrivedBy - (size - i) * arrivalSpacingMs;
    const data = pinpointEventBytes(i, arrival - 300, recordBytes);
    dataBytes += data.byteLength;
    const fragment = Buffer.from(
      `${FRAGMENT_HEAD}${sequenceNumberAt(i, size)}",` +
        `"ApproximateArrivalTimestamp":${(arrival / 1000).toFixed(3)},` +
        `"Data":"${data.toString('base64')}","PartitionKey":"device-${i % 4096}"}`,
    );
    offsets[i] = offset;
    parts.push(fragment);
    offset += fragment.byteLength;
  }
  offsets[size] = offset;
  return { bytes: Buffer.concat(parts), offsets, dataBytes: dataBytes / size, size };
}

/**
 * The JSON pieces of records [from, to) (positions), with the first fragment's leading
 * comma dropped. Lap 0 is served as slices of the template; later laps are copies with
 * their lap digits rewritten.
 */
export function recordPieces(template: RecordTemplate, from: number, to: number): Buffer[] {
  const pieces: Buffer[] = [];
  let position = from;
  while (position < to) {
    const lap = Math.floor(position / template.size);
    const first = position % template.size;
    const last = Math.min(template.size, first + (to - position));
    const start = template.offsets[first] ?? 0;
    const end = template.offsets[last] ?? 0;
    let piece = template.bytes.subarray(start, end);
    if (lap > 0) {
      piece = Buffer.from(piece);
      const digits = Buffer.from(pad(lap));
      for (let i = first; i < last; i += 1) {
        digits.copy(piece, (template.offsets[i] ?? 0) - start + LAP_OFFSET);
      }
    }
    pieces.push(pieces.length === 0 ? piece.subarray(1) : piece);
    position += last - first;
  }
  return pieces;
}

function pad(value: number): string {
  return String(value).padStart(DIGITS, '0');
}
