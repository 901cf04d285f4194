import { createServer } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { startHttpServer } from '../../src/observability/http-server.js';
import { readYaml, type JsonObject } from './helpers.js';

/**
 * The kubelet probes the pod IP. On an IPv6-only cluster (EKS with the IPv6 family) that
 * is an IPv6 address: a relay listening on 0.0.0.0 refuses it, the liveness probe fails
 * and Kubernetes restarts a healthy relay over and over (each restart re-reads from the
 * checkpoints). The chart's config must make the relay answer on both families; here a
 * real server with the chart's metrics settings is probed on ::1 and 127.0.0.1.
 */

async function ipv6Available(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

const chartConfig = validateConfig(
  (readYaml('helm/kinesis-relay/values.yaml') as JsonObject).config,
  'helm/kinesis-relay/values.yaml',
  {},
);

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('the chart relay answers the kubelet probes', () => {
  it('an IPv6 pod IP reaches /healthz and /readyz (no restart loop on an IPv6-only cluster)', async (context) => {
    if (!(await ipv6Available())) context.skip('no IPv6 on this machine');
    const { server, port } = await startHttpServer(
      new Registry(),
      { readiness: () => ({ ready: true }) },
      0,
      chartConfig.metrics.host,
    );
    close = () => new Promise((resolve) => server.close(() => resolve()));
    for (const host of ['[::1]', '127.0.0.1']) {
      const health = await fetch(`http://${host}:${port}/healthz`);
      expect(health.status).toBe(200);
      const ready = await fetch(`http://${host}:${port}/readyz`);
      expect(ready.status).toBe(200);
    }
  });
});

describe("the relay's own default metrics.host", () => {
  it('answers the probes on an IPv6 and an IPv4 address alike (a config without the chart needs no host for an IPv6-only cluster)', async (context) => {
    if (!(await ipv6Available())) context.skip('no IPv6 on this machine');
    const defaults = validateConfig(
      {
        application: 'probes',
        stream: { name: 'events' },
        sinks: [{ name: 'archive', type: 's3', bucket: 'archive', format: 'jsonl' }],
      },
      'defaults',
      {},
    );
    const { server, port } = await startHttpServer(
      new Registry(),
      { readiness: () => ({ ready: true }) },
      0,
      defaults.metrics.host,
    );
    close = () => new Promise((resolve) => server.close(() => resolve()));
    for (const host of ['[::1]', '127.0.0.1']) {
      const health = await fetch(`http://${host}:${port}/healthz`);
      expect(health.status).toBe(200);
    }
  });
});
