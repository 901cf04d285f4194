import { BenchKinesisEndpoint } from '../kinesis-endpoint/server.js';
import type { MemoryCgroup } from '../lib/memory-cgroup.js';
import type { ThroughputSample } from '../lib/measure.js';
import { runRelay, type RelayStack } from './relay.js';

/**
 * How Node starts in the pod: the three V8 heap settings a user meets. Node sizes V8 from
 * the container's limit when no flag is given; the chart capped the old space at 160 MiB
 * until 2026-12-06; the image and the chart now give it 2 GiB (src/core/heap-sizing.ts).
 */
export const POD_HEAP_SETTINGS = [
  { key: 'v8_from_limit', label: 'V8 sized from the limit (no flag)', nodeArgs: [] },
  { key: 'heap_160', label: '--max-old-space-size=160', nodeArgs: ['--max-old-space-size=160'] },
  {
    key: 'heap_2048',
    label: '--max-old-space-size=2048 (image, chart)',
    nodeArgs: ['--max-old-space-size=2048'],
  },
] as const;

export type PodHeapKey = (typeof POD_HEAP_SETTINGS)[number]['key'];

export interface PodOptions {
  readonly shards: number;
  readonly records: number;
  readonly runs: number;
  readonly log: (message: string) => void;
  readonly describe: (sample: ThroughputSample) => string;
}

/**
 * The relay at full speed inside a memory cgroup of the chart's limit, once per heap
 * setting and run, interleaved so that a neighbour's load hits every setting alike. A
 * long backlog (1M records by default): the GC settings differ most once V8's heap has
 * grown, which a 300,000-record window barely sees. A relay the kernel kills for memory
 * fails the run (measureConsumer: the consumer exited).
 */
export async function runPodComparison(
  stack: RelayStack,
  cgroup: MemoryCgroup,
  options: PodOptions,
): Promise<Map<PodHeapKey, ThroughputSample[]>> {
  const endpoint = new BenchKinesisEndpoint({
    streamName: `bench-pod-${options.shards}`,
    shardCount: options.shards,
    recordsPerShard: Math.ceil(options.records / options.shards),
    limits: false,
  });
  await endpoint.start();
  const samples = new Map<PodHeapKey, ThroughputSample[]>(
    POD_HEAP_SETTINGS.map((setting) => [setting.key, []]),
  );
  try {
    for (let run = 1; run <= options.runs; run += 1) {
      for (const setting of POD_HEAP_SETTINGS) {
        const sample = await runRelay(endpoint, stack, {
          nodeExecutable: cgroup.node,
          nodeArgs: setting.nodeArgs,
        });
        samples.get(setting.key)?.push(sample);
        options.log(
          `pod ${cgroup.limitBytes / 1024 / 1024} MiB, ${setting.label}, run ${run}: ${options.describe(sample)}`,
        );
      }
    }
  } finally {
    await endpoint.stop();
  }
  return samples;
}
