import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** Ready for traffic: connected, leases synced, no shard stalled. Returns why not. */
  readiness(): { ready: boolean; reason?: string };
  /**
   * Alive: no stall has lasted long enough that only a restart would help (liveness.ts).
   * Absent: alive whenever the event loop answers.
   */
  liveness?(): { alive: boolean; reason?: string };
}

/**
 * /metrics (Prometheus text), /healthz (the event loop answers, and no stall has lasted
 * past the liveness threshold), /readyz. `/metrics?name[]=a&name[]=b`
 * serves only those metric families (the Python client's convention): a probe polling one
 * counter does not pay for rendering every shard's series.
 */
export async function startHttpServer(
  registry: Registry,
  health: HealthSource,
  port: number,
  host: string,
): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    const [path, query = ''] = (request.url ?? '/').split('?', 2);
    if (path === '/metrics') {
      metricsText(registry, new URLSearchParams(query).getAll('name[]'))
        .then((text) => {
          response.writeHead(200, { 'content-type': registry.contentType });
          response.end(text);
        })
        .catch((error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(String(error));
        });
      return;
    }
    if (path === '/healthz') {
      const { alive, reason } = health.liveness?.() ?? { alive: true };
      response.writeHead(alive ? 200 : 503, { 'content-type': 'text/plain' });
      response.end(alive ? 'ok\n' : `not alive: ${reason ?? 'stalled'}\n`);
      return;
    }
    if (path === '/readyz') {
      const { ready, reason } = health.readiness();
      response.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
      response.end(ready ? 'ready\n' : `not ready: ${reason ?? 'starting'}\n`);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found\n');
  });
  try {
    await listen(server, port, host);
  } catch (error) {
    // '::' (both families, as the Helm chart configures) on a host without IPv6: what
    // Node does itself when no host is given.
    if (host !== '::' || !IPV6_MISSING.has((error as NodeJS.ErrnoException).code ?? ''))
      throw error;
    await listen(server, port, '0.0.0.0');
  }
  return { server, port: (server.address() as AddressInfo).port };
}

/** Error codes of binding an IPv6 address where the kernel has no IPv6. */
const IPV6_MISSING = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL']);

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/** The exposition text of every metric, or of the named families only (unknown names skipped). */
async function metricsText(registry: Registry, names: readonly string[]): Promise<string> {
  if (names.length === 0) return registry.metrics();
  const known = [...new Set(names)].filter((name) => registry.getSingleMetric(name) !== undefined);
  if (known.length === 0) return '';
  const texts = await Promise.all(known.map((name) => registry.getSingleMetricAsString(name)));
  // As registry.metrics() joins and ends them.
  return `${texts.join('\n\n')}\n`;
}
