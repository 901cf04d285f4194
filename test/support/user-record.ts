import type { AckHandle } from '../../src/core/ack.js';
import type { UserRecord } from '../../src/core/record.js';

/** A user record of shard 0 at sequence 1 with 10 bytes of data, with `fields` on top. */
export function userRecord(fields: Partial<UserRecord> = {}): UserRecord {
  return {
    sequenceNumber: '1',
    subSequenceNumber: 0,
    streamName: 's',
    shardId: 'shardId-000000000000',
    partitionKey: 'k',
    aggregated: false,
    approximateArrivalTimestamp: new Date(0),
    data: new Uint8Array(10),
    ...fields,
  };
}

/** An acknowledgement handle for tests that do not watch acknowledgements. */
export const noAck: AckHandle = { ack: () => undefined };
