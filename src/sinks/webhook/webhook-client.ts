import { Agent, request } from 'undici';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { WebhookSinkConfig } from '../../config/schema.js';
import { RelayError, errorMessage } from '../../core/errors.js';
import { redactWebhookUrl, scrubSecrets, webhookUrlSecrets } from '../../config/redact.js';
import { DestinationAccessError, RetryAfterError, type AccessRefusal } from '../delivery-retry.js';
import { signature, type WebhookPayload } from './request-body.js';

const gzipAsync = promisify(gzip);

/** The receiver said the body is too large (413): the sink splits the batch. */
export class PayloadTooLargeError extends RelayError {
  constructor(status: number) {
    super('HTTP_413', `the receiver answered ${status}: payload too large`, { retriable: false });
  }
}

/**
 * Statuses that refuse the batch's content: no retry can change the answer, so the batch
 * is bisected down to the records refused (see WebhookSink). 413 is handled on its own.
 */
const REFUSING_STATUSES = new Set([400, 409, 422]);

/** Statuses that refuse our credentials or address: an operator must act (see the error). */
function accessRefusal(status: number): AccessRefusal | undefined {
  if (status === 401 || status === 407) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404 || status === 410) return 'not_found';
  if (status >= 300 && status < 400) return 'redirected';
  return undefined;
}

/**
 * One POST per call: headers, optional gzip, signature, timeout. Resolves the bytes sent
 * when the receiver accepted the request; throws a RelayError saying whether to retry.
 */
export class WebhookClient {
  private readonly agent: Agent;
  /** What of the URL error messages must not repeat: they reach logs and dead-letter entries. */
  private readonly urlSecrets: readonly string[];

  constructor(
    private readonly config: WebhookSinkConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.urlSecrets = webhookUrlSecrets(config.url);
    this.agent = new Agent({
      connections: config.maxConcurrency,
      headersTimeout: config.timeoutMs,
      bodyTimeout: config.timeoutMs,
    });
  }

  /** Compresses once per payload, so retries send identical bytes. */
  async encode(payload: WebhookPayload): Promise<WebhookPayload> {
    if (this.config.compression !== 'gzip') return payload;
    return { requestId: payload.requestId, body: await gzipAsync(payload.body) };
  }

  async send(payload: WebhookPayload): Promise<void> {
    const response = await request(this.config.url, {
      method: 'POST',
      headers: this.headers(payload),
      body: payload.body,
      dispatcher: this.agent,
      signal: AbortSignal.timeout(this.config.timeoutMs),
    }).catch((error: unknown) => {
      throw new RelayError('HTTP_NETWORK', `request failed: ${this.scrub(errorMessage(error))}`, {
        retriable: true,
        cause: error,
      });
    });
    const text = await response.body.text().catch(() => '');
    const status = response.statusCode;
    if (status >= 200 && status < 300) {
      this.checkFirehoseResponse(payload.requestId, text);
      return;
    }
    // The answer may echo the URL's secret path (Express: "Cannot POST /services/T000/..."):
    // scrubbed before it is cut, so no secret is left cut in half.
    const answer = text ? `: ${this.scrub(text.slice(0, 4096)).slice(0, 200)}` : '';
    const detail = `the receiver answered ${status}${answer}`;
    if (status === 413) throw new PayloadTooLargeError(status);
    const retryAfterMs = parseRetryAfter(response.headers['retry-after'], this.now());
    if ((status === 429 || status === 503) && retryAfterMs !== undefined) {
      throw new RetryAfterError(`HTTP_${status}`, detail, retryAfterMs);
    }
    const refusal = accessRefusal(status);
    if (refusal) {
      // Redirects are not followed: that would resend the body, and its signature, elsewhere.
      const location = headerValue(response.headers.location);
      // Shown as the url itself would be: another webhook's path is as secret.
      const where = location ? ` (redirected to ${redactWebhookUrl(location)}: set url to it)` : '';
      throw new DestinationAccessError(`HTTP_${status}`, `${detail}${where}`, refusal);
    }
    // Anything else (5xx, 408, 429 without Retry-After, other 4xx) is retried, as Firehose
    // retries every non-2xx within its retry duration.
    throw new RelayError(`HTTP_${status}`, detail, { retriable: !REFUSING_STATUSES.has(status) });
  }

  close(): Promise<void> {
    return this.agent.close();
  }

  private scrub(text: string): string {
    return scrubSecrets(text, this.urlSecrets);
  }

  private headers(payload: WebhookPayload): Record<string, string> {
    const { config } = this;
    const headers: Record<string, string> = {
      ...config.headers,
      'content-type': 'application/json',
    };
    if (config.compression === 'gzip') headers['content-encoding'] = 'gzip';
    if (config.format === 'firehose') {
      headers['x-amz-firehose-protocol-version'] = '1.0';
      headers['x-amz-firehose-request-id'] = payload.requestId;
      if (config.accessKey) headers['x-amz-firehose-access-key'] = config.accessKey;
    } else {
      headers['x-relay-request-id'] = payload.requestId;
    }
    if (config.signingSecret) {
      const timestamp = String(this.now());
      headers[config.timestampHeader.toLowerCase()] = timestamp;
      headers[config.signatureHeader.toLowerCase()] = signature(
        config.signingSecret,
        timestamp,
        payload.body,
      );
    }
    return headers;
  }

  /** A Firehose endpoint echoes the request id; anything else did not handle our request. */
  private checkFirehoseResponse(requestId: string, text: string): void {
    if (this.config.format !== 'firehose') return;
    let echoed: unknown;
    try {
      echoed = (JSON.parse(text) as { requestId?: unknown }).requestId;
    } catch {
      echoed = undefined;
    }
    if (echoed !== requestId) {
      throw new RelayError(
        'FIREHOSE_REQUEST_ID_MISMATCH',
        `the receiver answered 2xx but with requestId ${JSON.stringify(echoed)}, not ${requestId}`,
        { retriable: true },
      );
    }
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Retry-After as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number,
): number | undefined {
  const text = headerValue(value);
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
