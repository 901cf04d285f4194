import type { RelayEvent } from '../../core/event.js';
import { jsonText } from '../../core/json-text.js';
import { normalizedDocument } from '../s3/event-encoder.js';

/**
 * One event as a webhook sends it: the normalized document as JSON. Its own module so a
 * decode worker encodes with it without loading the webhook's HTTP client.
 */
export function webhookDocument(event: RelayEvent): string {
  return jsonText(normalizedDocument(event));
}
