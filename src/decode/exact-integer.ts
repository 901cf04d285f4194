import { isLosslessNumber, parse as parseLossless } from 'lossless-json';

/**
 * The digits of a top-level integer member as the document wrote them. JSON.parse rounds
 * an integer beyond 2^53 (12345678901234567891 becomes 12345678901234567000), which for an
 * id or an offset names something else. Callers come here only for such a number (a rare
 * path), so the second, lossless parse costs the usual record nothing.
 */
export function exactIntegerText(json: Uint8Array, key: string, parsed: number): string {
  try {
    const member = (parseLossless(Buffer.from(json).toString('utf8')) as Record<string, unknown>)[
      key
    ];
    if (isLosslessNumber(member)) return member.value;
  } catch {
    // A duplicate key with two values (lossless-json refuses those; JSON.parse keeps the
    // last): fall through to the parsed number, the best that is known.
  }
  return Number.isInteger(parsed) ? BigInt(parsed).toString() : String(parsed);
}
