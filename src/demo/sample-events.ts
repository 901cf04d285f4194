/**
 * Sample events of every format the relay decodes, shaped after the reference documents
 * (Pinpoint event streams, Airship RTDS, mParticle audience membership via Firehose,
 * Mobile Analytics PutEvents), for the demo and the tests.
 */

const APP_ID = 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6';

export function pinpointAppEvent(n: number, at = Date.now()): object {
  return {
    event_type: n % 2 === 0 ? '_session.start' : '_session.stop',
    event_timestamp: at,
    arrival_timestamp: at + 1000,
    event_version: '3.0',
    application: {
      app_id: APP_ID,
      package_name: 'main.page',
      sdk: { name: 'aws-sdk-mobile-analytics-js', version: '0.9.1:2.4.8' },
      title: 'title',
      version_name: '1.0',
      version_code: '1',
    },
    client: { client_id: `client-${n}`, cognito_id: `us-east-1:cognito-${n}` },
    device: {
      locale: { code: 'en_US', country: 'US', language: 'en' },
      make: 'generic web browser',
      model: 'Unknown',
      platform: { name: 'android', version: '10.10' },
    },
    session: { session_id: `session-${n}`, start_timestamp: at - 60_000, stop_timestamp: at },
    attributes: { campaign: 'spring' },
    metrics: { items: n % 7 },
  };
}

/** Email events share the app event's shape (reference: "Email Events"). */
export function pinpointEmailEvent(n: number, at = Date.now()): object {
  return {
    ...pinpointAppEvent(n, at),
    event_type: n % 2 === 0 ? '_email.delivered' : '_email.open',
  };
}

/** The SMS event has its own shape (account_id, application_key, unique_id, timestamp). */
export function pinpointSmsEvent(n: number, at = Date.now()): object {
  return {
    account_id: '123412341234',
    event_type: '_SMS.SUCCESS',
    arrival_timestamp: at + 200,
    timestamp: at,
    timestamp_created: String(at - 1000),
    application_key: 'AppKey-688037015201',
    unique_id: `uniqueId-${n}`,
    attributes: {
      message_id: `sms-message-${n}`,
      sender_request_id: `request-${n}`,
      number_of_message_parts: 1,
      record_status: 'SUCCESS',
      message_type: 'Transactional',
      keyword: 'test',
      mcc_mnc: '456123',
      iso_country_code: 'US',
    },
    metrics: { price_in_millicents_usd: 645.0 },
    facets: {},
    additional_properties: {},
  };
}

const AIRSHIP_TYPES = ['OPEN', 'SEND', 'LOCATION', 'UNINSTALL', 'TAG_CHANGE', 'CUSTOM'] as const;

export function airshipEvent(n: number, at = Date.now()): object {
  const type = AIRSHIP_TYPES[n % AIRSHIP_TYPES.length] ?? 'OPEN';
  const occurred = new Date(at).toISOString();
  const body: Record<string, unknown> =
    type === 'LOCATION'
      ? { latitude: 14.5224123, longitude: -22.1236212, foreground: false, session_id: `s-${n}` }
      : type === 'SEND'
        ? { push_id: `push-${n}`, group_id: `group-${n}`, variant_id: 1 }
        : type === 'TAG_CHANGE'
          ? { add: { interests: ['sports'] }, current: { interests: ['sports', 'news'] } }
          : type === 'CUSTOM'
            ? { name: 'purchase', value: 12.5, transaction: `tx-${n}`, customer_id: `c-${n}` }
            : { session_id: `s-${n}` };
  return {
    id: `ff76bb85-74bc-4511-a3bf-${String(n).padStart(12, '0')}`,
    type,
    offset: 1000 + n,
    occurred,
    processed: new Date(at + 5000).toISOString(),
    device: {
      channel: `90823094-1234-94b2-sb39-${String(n).padStart(12, '0')}`,
      device_type: 'IOS',
      named_user_id: `named-user-${n}`,
    },
    body,
  };
}

/** Firehose-style envelope; `Record.Data` is base64 of the membership message. */
export function mparticleRecord(n: number, at = Date.now()): object {
  const membership = {
    MembershipChangedTimestamp: String(Math.floor(at / 1000)),
    AudienceId: 123123,
    AudienceName: 'LowEngagement',
    IsMember: n % 3 !== 0,
    UserIdentities: {
      CustomerId: `customer-${n}`,
      Email: `user${n}@example.com`,
      GoogleAdvertisingIdentifier: `gaid-${n}`,
    },
  };
  return {
    DeliveryStreamName: 'mPTravelAudiences',
    Record: { Data: Buffer.from(JSON.stringify(membership)).toString('base64') },
  };
}

export function mobileAnalyticsBatch(n: number, at = Date.now()): object {
  const timestamp = new Date(at).toISOString();
  return {
    clientContext: {
      client: {
        client_id: `ma-client-${n}`,
        app_title: 'Demo',
        app_package_name: 'com.example.demo',
      },
      env: { platform: 'android', model: 'Pixel', make: 'Google', locale: 'en_US' },
      services: { mobile_analytics: { app_id: APP_ID } },
    },
    events: [
      {
        eventType: '_session.start',
        timestamp,
        session: { id: `ma-session-${n}`, startTimestamp: timestamp },
        version: 'v2.0',
        attributes: { screen: 'home' },
        metrics: { loadMs: 120 },
      },
      {
        eventType: 'level_complete',
        timestamp,
        session: { id: `ma-session-${n}`, startTimestamp: timestamp },
        version: 'v2.0',
        attributes: { level: String(n % 10) },
        metrics: { score: n * 10 },
      },
    ],
  };
}

/** The demo's mix: every format, in turn. */
export function sampleEvent(n: number, at = Date.now()): object {
  switch (n % 7) {
    case 0:
      return pinpointAppEvent(n, at);
    case 1:
      return pinpointEmailEvent(n, at);
    case 2:
      return pinpointSmsEvent(n, at);
    case 3:
    case 4:
      return airshipEvent(n, at);
    case 5:
      return mparticleRecord(n, at);
    default:
      return mobileAnalyticsBatch(n, at);
  }
}
