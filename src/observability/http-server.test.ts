import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { startHttpServer } from './http-server.js';
import { createMetrics } from './metrics.js';
import { evaluateLiveness } from './liveness.js';
import { evaluateReadiness } from './readiness.js';

describe('HTTP endpoints', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  it('/readyz follows the lease sync and each owned shard stalling and recovering', async () => {
    const metrics = createMetrics();
    const state = { synced: false, now: 1_000_000, owned: [] as string[] };
    const http = await startHttpServer(
      metrics.registry,
      {
        readiness: () =>
          evaluateReadiness({
            leasesSynced: state.synced,
            lastReads: metrics.readTimes,
            sinkProgress: metrics.sinkProgress,
            ownedShards: state.owned,
            stallAfterMs: 60_000,
            now: state.now,
          }),
      },
      0,
      '127.0.0.1',
    );
    server = http.server;
    const readyz = async () => {
      const response = await fetch(`http://127.0.0.1:${http.port}/readyz`);
      return { status: response.status, body: await response.text() };
    };

    expect(await readyz()).toEqual({
      status: 503,
      body: 'not ready: lease table not synced yet\n',
    });
    state.synced = true;
    expect(await readyz()).toEqual({ status: 200, body: 'ready\n' });

    state.owned = ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002'];
    metrics.readTimes.set('shardId-000000000000', {
      stream: 's',
      shard: 'shardId-000000000000',
      at: state.now,
    });
    metrics.readTimes.set('shardId-000000000001', {
      stream: 's',
      shard: 'shardId-000000000001',
      at: state.now,
    });
    // shard 2 waits for its parents: no read yet, not stalled.
    state.now += 60_000;
    expect((await readyz()).status).toBe(200);

    state.now += 1;
    metrics.readTimes.set('shardId-000000000000', {
      stream: 's',
      shard: 'shardId-000000000000',
      at: state.now,
    });
    const stalled = await readyz();
    expect(stalled.status).toBe(503);
    expect(stalled.body).toBe(
      'not ready: shard(s) stalled longer than 60000 ms: shardId-000000000001\n',
    );

    metrics.readTimes.set('shardId-000000000001', {
      stream: 's',
      shard: 'shardId-000000000001',
      at: state.now,
    });
    expect((await readyz()).status).toBe(200);

    // A stalled shard this worker no longer owns does not count.
    state.now += 120_000;
    state.owned = [];
    expect((await readyz()).status).toBe(200);
  });

  it('/readyz fails while a sink holds events without finishing a batch for longer than stallAfterMs', async () => {
    const metrics = createMetrics();
    const state = { now: 1_000_000 };
    const warehouse = { holding: true, lastProgressAt: state.now };
    const archive = { holding: false, lastProgressAt: state.now };
    metrics.sinkProgress.set('warehouse', warehouse);
    metrics.sinkProgress.set('archive', archive);
    const http = await startHttpServer(
      metrics.registry,
      {
        readiness: () =>
          evaluateReadiness({
            leasesSynced: true,
            lastReads: metrics.readTimes,
            sinkProgress: metrics.sinkProgress,
            ownedShards: [],
            stallAfterMs: 60_000,
            now: state.now,
          }),
      },
      0,
      '127.0.0.1',
    );
    server = http.server;
    const readyz = async () => {
      const response = await fetch(`http://127.0.0.1:${http.port}/readyz`);
      return { status: response.status, body: await response.text() };
    };

    state.now += 60_000;
    expect((await readyz()).status).toBe(200);
    // Only the sink holding events counts; archive, as quiet but holding nothing, does not.
    state.now += 1;
    expect(await readyz()).toEqual({
      status: 503,
      body: 'not ready: sink(s) without progress for longer than 60000 ms: warehouse\n',
    });
    warehouse.lastProgressAt = state.now;
    expect((await readyz()).status).toBe(200);
    warehouse.holding = false;
    state.now += 600_000;
    expect((await readyz()).status).toBe(200);

    // A sink whose open batch may wait 10 min by design is given that long on top.
    metrics.sinkProgress.set('warehouse', {
      holding: true,
      lastProgressAt: state.now,
      graceMs: 600_000,
    });
    state.now += 660_000;
    expect((await readyz()).status).toBe(200);
    state.now += 1;
    expect((await readyz()).status).toBe(503);
  });

  it('/healthz fails with a reason once a shard has stalled for longer than the liveness threshold', async () => {
    const metrics = createMetrics();
    const state = { now: 1_000_000 };
    const shard = 'shardId-000000000000';
    metrics.readTimes.set(shard, { stream: 's', shard, at: state.now });
    const input = () => ({
      leasesSynced: true,
      lastReads: metrics.readTimes,
      sinkProgress: metrics.sinkProgress,
      ownedShards: [shard],
      now: state.now,
    });
    const http = await startHttpServer(
      metrics.registry,
      {
        readiness: () => evaluateReadiness({ ...input(), stallAfterMs: 60_000 }),
        liveness: () => evaluateLiveness({ ...input(), livenessStallAfterMs: 180_000 }),
      },
      0,
      '127.0.0.1',
    );
    server = http.server;
    const get = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${http.port}${path}`);
      return { status: response.status, body: await response.text() };
    };

    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    // Past the readiness threshold: flagged (not ready), not restarted.
    state.now += 120_000;
    expect((await get('/readyz')).status).toBe(503);
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    state.now += 60_001;
    expect(await get('/healthz')).toEqual({
      status: 503,
      body: 'not alive: shard(s) stalled longer than 180000 ms: shardId-000000000000\n',
    });
    // Reading again: alive again.
    metrics.readTimes.set(shard, { stream: 's', shard, at: state.now });
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
  });

  it('/healthz answers, /metrics serves the exposition format with the build info, others 404', async () => {
    const metrics = createMetrics();
    metrics.buildInfo.set({ version: '1.2.3', node_version: process.version }, 1);
    const http = await startHttpServer(
      metrics.registry,
      { readiness: () => ({ ready: true }) },
      0,
      '127.0.0.1',
    );
    server = http.server;
    const base = `http://127.0.0.1:${http.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    const text = await scrape.text();
    expect(text).toContain(
      `kinesis_relay_build_info{version="1.2.3",node_version="${process.version}"} 1`,
    );
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).not.toContain('nodejs_active_handles_total');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('/metrics?name[]= serves only the named families, as registry.metrics() writes them', async () => {
    const metrics = createMetrics();
    metrics.buildInfo.set({ version: '1.2.3', node_version: process.version }, 1);
    metrics.records.labels({ stream: 's', shard: 'shardId-000000000001' }).inc(7);
    const http = await startHttpServer(
      metrics.registry,
      { readiness: () => ({ ready: true }) },
      0,
      '127.0.0.1',
    );
    server = http.server;
    const base = `http://127.0.0.1:${http.port}/metrics`;
    const whole = await (await fetch(base)).text();
    const one = await fetch(`${base}?name[]=kinesis_relay_records_total`);
    expect(one.status).toBe(200);
    const text = await one.text();
    const family = await metrics.registry.getSingleMetricAsString('kinesis_relay_records_total');
    expect(text).toBe(`${family}\n`);
    expect(whole).toContain(family);
    expect(text).toContain(
      'kinesis_relay_records_total{stream="s",shard="shardId-000000000001"} 7',
    );
    expect(text).not.toContain('kinesis_relay_build_info');

    const two = await (
      await fetch(`${base}?name%5B%5D=kinesis_relay_build_info&name[]=kinesis_relay_records_total`)
    ).text();
    expect(two.match(/^# TYPE /gm)).toHaveLength(2);
    expect(two).toContain('kinesis_relay_build_info{');

    const unknown = await fetch(`${base}?name[]=no_such_metric`);
    expect(unknown.status).toBe(200);
    expect(await unknown.text()).toBe('');
  });
});
