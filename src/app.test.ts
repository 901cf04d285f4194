import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Relay } from './app.js';
import { validateConfig } from './config/load.js';
import type { MemoryLimits } from './core/memory-budget.js';
import { createAwsClients, destroyAwsClients } from './kinesis/clients.js';
import { createLogger } from './observability/logger.js';

const MIB = 1024 * 1024;

interface LogLine {
  readonly level: number;
  readonly msg: string;
}

/** Builds a relay (never started: nothing is called) and returns what it logged doing so. */
async function logOfBuilding(memoryLimits: MemoryLimits): Promise<LogLine[]> {
  const config = validateConfig(
    {
      application: 'heap-warning',
      stream: { name: 'events' },
      consumer: { workerThreads: 0 },
      sinks: [{ name: 'hook', type: 'webhook', url: 'http://127.0.0.1:9/' }],
      metrics: { port: 0, host: '127.0.0.1' },
    },
    'test',
    {},
  );
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const clients = createAwsClients({
    region: 'us-east-1',
    env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' },
  });
  try {
    new Relay(config, { log: createLogger('info', output), clients, memoryLimits });
  } finally {
    destroyAwsClients(clients);
  }
  // pino writes to a stream asynchronously.
  await new Promise((resolve) => setImmediate(resolve));
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
}

describe('Relay at start', () => {
  it('warns, once, when Node sized V8 from a 256 MiB pod limit', async () => {
    const lines = await logOfBuilding({ containerBytes: 256 * MIB, heapBytes: 259 * MIB });
    const warnings = lines.filter((line) => line.level === 40 && line.msg.includes('heap limit'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toContain("V8's heap limit is 259 MiB");
    expect(warnings[0]?.msg).toContain('NODE_OPTIONS=--max-old-space-size=2048');
  });

  it('says nothing of the heap with the image setting, or outside a container', async () => {
    for (const limits of [
      { containerBytes: 256 * MIB, heapBytes: 2096 * MIB },
      { containerBytes: null, heapBytes: 259 * MIB },
    ]) {
      const lines = await logOfBuilding(limits);
      expect(lines.filter((line) => line.msg.includes('heap limit'))).toEqual([]);
    }
  });
});
