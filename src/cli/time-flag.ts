import { UsageError } from '../core/errors.js';

/** A zone at the end of an ISO-8601 time: `Z`, `+01:00`, `-0500`. */
const ZONE = /(Z|[+-]\d{2}:?\d{2})$/i;
/** `2026-01-31`: a date alone, which Date.parse reads as UTC midnight. */
const DATE_LENGTH = 10;

export interface IsoTimeFlagOptions {
  /** A date alone (`2026-01-31`, read as UTC midnight) is a time too. */
  readonly dateOnly: boolean;
}

/**
 * A flag's ISO-8601 time; undefined when the text is not one, so each command says what
 * else it would have taken. A time of day must end in its zone: without one JavaScript
 * reads it in the host's zone, hours off on a laptop (a date alone it reads as UTC).
 */
export function parseIsoTimeFlag(
  flag: string,
  text: string,
  options: IsoTimeFlagOptions,
): Date | undefined {
  const shape = options.dateOnly ? /^\d{4}-\d{2}-\d{2}/ : /^\d{4}-\d{2}-\d{2}T/;
  const time = Date.parse(text);
  if (!shape.test(text) || Number.isNaN(time)) return undefined;
  // Anything after the date is a time of day (`T10:00`, or ` 10:00`, which Date.parse also
  // reads), and it is read in the host's zone unless the text ends in one.
  if (text.length > DATE_LENGTH && !ZONE.test(text)) {
    throw new UsageError(`${flag}: '${text}' has no time zone: end it in Z or an offset (+01:00)`);
  }
  return new Date(time);
}
