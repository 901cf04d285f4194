import { createHmac } from 'node:crypto';

export type WebhookFormat = 'json' | 'firehose';

/** One POST's payload, built once per (sub-)batch so every retry sends the same bytes. */
export interface WebhookPayload {
  /** Stable across retries: X-Amz-Firehose-Request-Id, and the receiver's de-duplication key. */
  readonly requestId: string;
  readonly body: Buffer;
}

/**
 * `json`: an array of the events' documents. `firehose`: the Firehose HTTP endpoint
 * request, `{requestId, timestamp, records: [{data}]}` with each document base64-encoded,
 * as Kinesis Data Firehose sends it.
 */
export function payloadBody(
  format: WebhookFormat,
  requestId: string,
  documents: readonly Buffer[],
  timestamp: number,
): Buffer {
  if (format === 'json') {
    const parts: Buffer[] = [Buffer.from('[')];
    documents.forEach((document, index) => {
      if (index > 0) parts.push(Buffer.from(','));
      parts.push(document);
    });
    parts.push(Buffer.from(']'));
    return Buffer.concat(parts);
  }
  return Buffer.from(
    JSON.stringify({
      requestId,
      timestamp,
      records: documents.map((document) => ({ data: document.toString('base64') })),
    }),
  );
}

/**
 * The signature header's value: `v1=` + hex HMAC-SHA256 over `{timestamp}.{body}`, where
 * body is the bytes on the wire (compressed, when the request is). The timestamp is the
 * attempt's, so a receiver can refuse stale replays; the secret never leaves the relay.
 */
export function signature(secret: string, timestamp: string, body: Buffer): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return `v1=${mac.digest('hex')}`;
}
