import { BenchKinesisEndpoint } from './kinesis-endpoint/server.js';
import { runRelay, startRelayStack } from './scenarios/relay.js';
import { runCeiling } from './scenarios/ceiling.js';
const shardList = JSON.parse(process.argv[2] ?? '[16,64]') as number[];
const total = Number(process.argv[3] ?? 300000);
const profile = process.argv[4] === 'prof';
const variants = JSON.parse(process.argv[5] ?? '[{}]') as Array<Record<string, unknown>>;
const stack = await startRelayStack();
for (const shards of shardList) {
  const endpoint = new BenchKinesisEndpoint({ streamName: `exp${shards}`, shardCount: shards, recordsPerShard: Math.ceil(total / shards), limits: false });
  await endpoint.start();
  const short = (s: any) => { const c = endpoint.counters; return `${Math.round(s.recordsPerSecond)} rps ${s.cpuSecondsPerMillion.toFixed(2)} cpu ${Math.round(s.peakRssMib)} MiB calls=${c.calls} records=${c.records} perCall=${(c.records / Math.max(1, c.calls)).toFixed(0)}`; };
  const c = await runCeiling(endpoint);
  console.log(`${shards} ceiling: ${short(c)}`);
  for (const v of variants) {
    for (const k of ['EXP_YOUNG','EXP_OLD','EXP_PAGECAP','EXP_BUSY','EXP_CONC','MALLOC_ARENA_MAX']) delete process.env[k];
    Object.assign(process.env, (v as any).env ?? {});
    const dir = `/tmp/prof-${shards}-${Date.now()}`;
    const { env: _e, ...opts } = v as any; const s = await runRelay(endpoint, stack, { ...opts, ...(profile ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] } : {}) });
    console.log(`${shards} relay ${JSON.stringify(v)}: ${short(s)} ${profile ? dir : ''}`);
  }
  await endpoint.stop();
}
await stack.stop();
