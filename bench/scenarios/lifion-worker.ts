/*
 * The peer: lifion-kinesis (aws-sdk v2 polling consumer) reading the same stream from the
 * same endpoint, parsing every record as JSON (its shouldParseJson option: one JSON.parse
 * per record, as the ceiling does). It keeps its consumer state in DynamoDB (dynalite).
 * Run as its own process by the peer scenario; prints its progress on stdout.
 */
import { createLifionConsumer } from '../lib/lifion-consumer.js';

const consumer = createLifionConsumer(process.env);

let checksum = 0;
let processed = 0;
consumer.on('data', (batch) => {
  for (const record of batch.records) {
    const event = record.data as { event_type?: string };
    checksum += event.event_type?.length ?? 0;
  }
  processed += batch.records.length;
});
// Progress for the bench (records handed to us so far), read from stdout.
setInterval(() => console.log(`progress ${processed}`), 50);
consumer.on('error', (error) => console.error('lifion-kinesis error:', error.message));
await consumer.startConsumer();
process.on('SIGTERM', () => {
  console.log(JSON.stringify({ checksum }));
  process.exit(0);
});
