/**
 * A decoded value's JSON text: what JSON.stringify writes, and for a bigint (an integer the
 * source document wrote beyond 2^53, see decode/exact-integers.ts) the digits as sent,
 * which JSON.stringify refuses. Documents without one (nearly all) take JSON.stringify
 * itself, so their text is byte for byte what it always was; the `catch` costs nothing
 * until a bigint makes it throw.
 */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    // A cycle or a throwing toJSON fails the same way in exactJsonText, and is rethrown.
    if (!(error instanceof TypeError)) throw error;
    return exactJsonText(value) ?? 'null';
  }
}

/**
 * JSON.stringify's algorithm (own enumerable keys in order, undefined and functions left
 * out of objects and null in arrays, toJSON honoured) with bigints as their digits.
 */
function exactJsonText(value: unknown): string | undefined {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return exactJsonText(toJSON.call(value) as unknown);
  if (Array.isArray(value)) {
    return `[${value.map((item: unknown) => exactJsonText(item) ?? 'null').join(',')}]`;
  }
  const members: string[] = [];
  for (const key of Object.keys(value)) {
    const member = exactJsonText((value as Readonly<Record<string, unknown>>)[key]);
    if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
  }
  return `{${members.join(',')}}`;
}
