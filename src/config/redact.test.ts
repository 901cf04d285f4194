import { describe, expect, it } from 'vitest';
import { redactConfig, redactUrl, redactWebhookUrl } from './redact.js';

describe('webhook URLs are shown as scheme, host and port only', () => {
  it('a Slack-style secret path, a query token and userinfo are hidden; the origin stays', () => {
    expect(redactWebhookUrl('https://hooks.slack.com/services/T000/B000/XXXX')).toBe(
      'https://hooks.slack.com/[redacted]',
    );
    expect(redactWebhookUrl('https://user:pw@hooks.example.com:8443/in?token=t-1#frag')).toBe(
      'https://[redacted]@hooks.example.com:8443/[redacted]',
    );
    expect(redactWebhookUrl('http://127.0.0.1:9000?sig=s-1')).toBe(
      'http://127.0.0.1:9000/[redacted]',
    );
    // Nothing secret to hide: shown as configured.
    expect(redactWebhookUrl('https://receiver.example.com')).toBe('https://receiver.example.com');
    expect(redactWebhookUrl('https://receiver.example.com/')).toBe('https://receiver.example.com/');
    expect(redactWebhookUrl('not a url /services/T000')).toBe('[redacted]');
  });

  it('check-config redacts a webhook sink URL so, and keeps other URLs as they were', () => {
    const redacted = redactConfig({
      sinks: [
        { name: 'slack', type: 'webhook', url: 'https://hooks.slack.com/services/T000/B000/XXXX' },
        { name: 'db', type: 'redshift', url: 'postgres://user:pw@host:5439/db?sslmode=require' },
      ],
      endpoint: 'http://localhost:4566/path',
    });
    expect(redacted.sinks[0]?.url).toBe('https://hooks.slack.com/[redacted]');
    expect(redacted.sinks[1]?.url).toBe(
      redactUrl('postgres://user:pw@host:5439/db?sslmode=require'),
    );
    expect(redacted.sinks[1]?.url).toContain('/db?sslmode=require');
    expect(redacted.endpoint).toBe('http://localhost:4566/path');
  });
});
