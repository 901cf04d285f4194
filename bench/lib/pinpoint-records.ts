/**
 * The benchmark's payload: Amazon Pinpoint app events of a fixed size (500 bytes by
 * default), shaped as the reference documents them, so the relay's `auto` decoder takes
 * its Pinpoint path and the S3 sink writes generic CSV rows.
 */
export const DEFAULT_RECORD_BYTES = 500;

const EVENT_TYPES = ['_session.start', '_session.stop', '_custom.purchase', '_email.open'];

export function pinpointEvent(n: number, at: number, extra: Record<string, string> = {}): object {
  return {
    event_type: EVENT_TYPES[n % EVENT_TYPES.length],
    event_timestamp: at,
    arrival_timestamp: at + 250,
    event_version: '3.0',
    application: { app_id: 'bench0a1b2c3d4e5f60718293a4b5c6d7e8', version_name: '1.0' },
    client: { client_id: `client-${n % 100_000}`, cognito_id: `us-east-1:cog-${n % 100_000}` },
    device: { platform: { name: 'android', version: '14' }, model: 'Pixel 8', locale: 'en_US' },
    session: { session_id: `s-${n}`, start_timestamp: at - 60_000 },
    attributes: { campaign: 'spring', ...extra },
    metrics: { items: n % 7, price: (n % 1000) / 10 },
  };
}

/** One event serialized to exactly `bytes` bytes (padded in an attribute) when it fits. */
export function pinpointEventBytes(
  n: number,
  at: number,
  bytes = DEFAULT_RECORD_BYTES,
  extra: Record<string, string> = {},
): Buffer {
  const base = JSON.stringify(pinpointEvent(n, at, { ...extra, pad: '' }));
  const missing = Math.max(0, bytes - Buffer.byteLength(base));
  return Buffer.from(JSON.stringify(pinpointEvent(n, at, { ...extra, pad: 'x'.repeat(missing) })));
}
