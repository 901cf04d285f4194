import type { RelayEvent, SourceFormat } from '../core/event.js';
import type { UserRecord } from '../core/record.js';

/** What a decoder makes of one user record: events, or a reason it cannot. */
export type DecodeResult =
  | { readonly ok: true; readonly events: readonly RelayEvent[] }
  | { readonly ok: false; readonly error: string };

/**
 * Turns one user record into zero or more normalized events. A decoder never throws:
 * a record it cannot read is a failure with a reason, which the pipeline dead-letters.
 */
export interface Decoder {
  readonly format: SourceFormat | 'auto';
  decode(record: UserRecord): DecodeResult;
}
