/*
 * A GetRecords body read on its bytes, one record at a time. JSON.parse of the whole body
 * needed it as one string (a copy of the page, held outside V8's heap) and built every
 * record's base64 as a string of its own before the first record could be read (a second
 * copy, in the young generation, which the scavenges during the page copied and promoted:
 * a page thread's old generation grew to ~32 MB of them). Here the page's own members are
 * read by a small scanner and each record is given to JSON.parse alone, so no more than
 * one record's strings exist at a time.
 *
 * It is strict: it takes a body of ASCII without a backslash (the caller checks both), in
 * which a string ends at the next quote, and returns null for anything it does not read
 * exactly as JSON.parse would (a duplicate page member, a control character in a string,
 * a malformed number, a record with many '}' inside): the SDK reads those.
 */

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
/** Nesting of unknown page members that is skipped; deeper is left to the SDK. */
const MAX_DEPTH = 64;
/** '}' a record is tried to end at (record()); a record with more inside goes to the SDK. */
const MAX_RECORD_ENDS = 16;
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

const RECORDS_KEY = 'Records';
const NEXT_KEY = 'NextShardIterator';
const BEHIND_KEY = 'MillisBehindLatest';
const CHILDREN_KEY = 'ChildShards';
const TYPE_KEY = '__type';
const NULL = ascii('null');
const TRUE = ascii('true');
const FALSE = ascii('false');

/** A value as JSON.parse gives it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What a page says besides its records, which scanGetRecordsBody hands out one by one. */
export interface ScannedPage {
  /** The body has a Records member that is not null. */
  readonly hasRecords: boolean;
  readonly recordCount: number;
  readonly nextShardIterator: string | null;
  readonly millisBehindLatest: number | null;
}

/**
 * Reads a GetRecords body (ASCII, no backslash), giving each element of its Records list to
 * `onRecord` as JSON.parse reads it; `onRecord` answers false for one it cannot take. Null
 * for a body the SDK is to read: records handed out before that are to be dropped.
 */
export function scanGetRecordsBody(
  body: Uint8Array,
  onRecord: (record: Json) => boolean,
): ScannedPage | null {
  try {
    return new BodyScanner(body, onRecord).page();
  } catch (error) {
    if (error === NOT_PLAIN) return null;
    throw error;
  }
}

/** Thrown inside the scanner for anything it leaves to the SDK; never leaves this module. */
const NOT_PLAIN = Symbol('not a plain GetRecords body');

class BodyScanner {
  private at = 0;
  private readonly text: Buffer;

  constructor(
    body: Uint8Array,
    private readonly onRecord: (record: Json) => boolean,
  ) {
    this.text = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }

  page(): ScannedPage {
    let recordCount: number | null = null;
    let next: string | null = null;
    let behind: number | null = null;
    const seen = new Set<string>();
    this.members((key) => {
      // JSON.parse keeps the last of two; the SDK is left to do the same.
      if (seen.has(key) || key === TYPE_KEY) throw NOT_PLAIN;
      seen.add(key);
      if (key === RECORDS_KEY) {
        recordCount = this.takeNull() ? null : this.records();
      } else if (key === NEXT_KEY) {
        next = this.takeNull() ? null : this.string();
      } else if (key === BEHIND_KEY) {
        behind = this.takeNull() ? null : this.number();
      } else if (key === CHILDREN_KEY) {
        // Child shards come once per shard, at its end: not worth reading here.
        if (!this.takeNull()) throw NOT_PLAIN;
      } else {
        this.skipValue(0);
      }
    });
    this.whitespace();
    if (this.at !== this.text.byteLength) throw NOT_PLAIN;
    return {
      hasRecords: recordCount !== null,
      recordCount: recordCount ?? 0,
      nextShardIterator: next,
      millisBehindLatest: behind,
    };
  }

  /**
   * The Records list, each record parsed alone (record()).
   */
  private records(): number {
    this.expect(OPEN_BRACKET);
    if (this.take(CLOSE_BRACKET)) return 0;
    let count = 0;
    do {
      if (!this.onRecord(this.record())) throw NOT_PLAIN;
      count += 1;
    } while (this.take(COMMA));
    this.expect(CLOSE_BRACKET);
    return count;
  }

  /**
   * One record, parsed alone. A record is an object, which ends at a '}': the first after
   * its '{' unless a string holds one ("a}b" as a partition key) or an object is inside.
   * The text up to a '}' that is not the record's end is not JSON, and the first that
   * parses is its end (an object's closing brace is the only one outside its strings at
   * its own depth), so the next '}' is tried, up to MAX_RECORD_ENDS of them; then the SDK
   * reads the body.
   */
  private record(): Json {
    this.whitespace();
    const start = this.at;
    if (this.text[start] !== OPEN_BRACE) throw NOT_PLAIN;
    let end = start;
    for (let tries = 0; tries < MAX_RECORD_ENDS; tries += 1) {
      end = this.text.indexOf(CLOSE_BRACE, end + 1);
      if (end === -1) break;
      try {
        const record = JSON.parse(this.text.toString('latin1', start, end + 1)) as Json;
        this.at = end + 1;
        return record;
      } catch {
        // Not the record's end: a '}' inside it.
      }
    }
    throw NOT_PLAIN;
  }

  /** An object's members: `onMember` reads each value, the cursor just past its colon. */
  private members(onMember: (key: string) => void): void {
    this.expect(OPEN_BRACE);
    if (this.take(CLOSE_BRACE)) return;
    do {
      const key = this.string();
      this.expect(COLON);
      onMember(key);
    } while (this.take(COMMA));
    this.expect(CLOSE_BRACE);
  }

  private skipValue(depth: number): void {
    if (depth > MAX_DEPTH) throw NOT_PLAIN;
    this.whitespace();
    const byte = this.text[this.at];
    if (byte === QUOTE) {
      this.string();
    } else if (byte === OPEN_BRACE) {
      this.members(() => this.skipValue(depth + 1));
    } else if (byte === OPEN_BRACKET) {
      this.at += 1;
      if (this.take(CLOSE_BRACKET)) return;
      do {
        this.skipValue(depth + 1);
      } while (this.take(COMMA));
      this.expect(CLOSE_BRACKET);
    } else if (!this.takeLiteral(NULL) && !this.takeLiteral(TRUE) && !this.takeLiteral(FALSE)) {
      this.number();
    }
  }

  /** A string: with no backslash, it ends at the next quote; JSON forbids control characters in it. */
  private string(): string {
    this.expect(QUOTE);
    const start = this.at;
    const end = this.text.indexOf(QUOTE, start);
    if (end === -1) throw NOT_PLAIN;
    for (let index = start; index < end; index += 1) {
      if ((this.text[index] ?? 0) < 0x20) throw NOT_PLAIN;
    }
    this.at = end + 1;
    return this.text.toString('latin1', start, end);
  }

  private number(): number {
    this.whitespace();
    const start = this.at;
    let end = start;
    while (end < this.text.byteLength && isNumberByte(this.text[end] ?? 0)) end += 1;
    const text = this.text.toString('latin1', start, end);
    if (!JSON_NUMBER.test(text)) throw NOT_PLAIN;
    this.at = end;
    return Number(text);
  }

  private takeNull(): boolean {
    return this.takeLiteral(NULL);
  }

  private takeLiteral(literal: Uint8Array): boolean {
    this.whitespace();
    for (let index = 0; index < literal.byteLength; index += 1) {
      if (this.text[this.at + index] !== literal[index]) return false;
    }
    this.at += literal.byteLength;
    return true;
  }

  private take(byte: number): boolean {
    this.whitespace();
    if (this.text[this.at] !== byte) return false;
    this.at += 1;
    return true;
  }

  private expect(byte: number): void {
    if (!this.take(byte)) throw NOT_PLAIN;
  }

  private whitespace(): void {
    const text = this.text;
    let at = this.at;
    for (;;) {
      const byte = text[at];
      if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) break;
      at += 1;
    }
    this.at = at;
  }
}

function isNumberByte(byte: number): boolean {
  // 0-9 + - . e E
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2b ||
    byte === 0x2d ||
    byte === 0x2e ||
    byte === 0x65 ||
    byte === 0x45
  );
}

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}
