import { describe, expect, it } from 'vitest';
import { createStream, putAll } from '../../src/demo/producer.js';
import { LeaseStore } from '../../src/leases/lease-store.js';
import { blackHole } from '../support/black-hole.js';
import { numberedRecord } from '../support/records.js';
import { testRelayConfig } from '../support/relay-config.js';
import { startRelayProcess, writeConfig } from '../support/relay-process.js';
import { createBucket, eventually, uniqueName, useTestStack } from '../support/stack.js';

describe('kinesis-relay run and signals', () => {
  const test = useTestStack();

  async function runningRelay(env: NodeJS.ProcessEnv = process.env) {
    const names = {
      stream: uniqueName('signals'),
      table: uniqueName('signals-leases'),
      bucket: uniqueName('signals-archive'),
    };
    await createStream(test.clients.kinesis, names.stream, 1);
    await createBucket(test.clients, names.bucket);
    await putAll(
      test.clients.kinesis,
      names.stream,
      Array.from({ length: 20 }, (_, i) => numberedRecord(i)),
    );
    const relay = startRelayProcess(['run', '--config', writeConfig(testRelayConfig(names))], env);
    await eventually(
      'the relay to read the shard',
      async () => (relay.output().includes('shard started') ? true : undefined),
      60_000,
      100,
    );
    return { relay, store: new LeaseStore(test.clients.dynamo, names.table) };
  }

  it('SIGINT twice at once (Ctrl-C under npm start: the terminal and npm each send one, a moment apart) still stops cleanly: exit 0, lease released', async () => {
    const { relay, store } = await runningRelay();
    relay.child.kill('SIGINT');
    // npm forwards its own SIGINT a moment after the terminal's reached the relay.
    await eventually(
      'the relay to begin stopping',
      async () => (relay.output().includes('"msg":"stopping"') ? true : undefined),
      10_000,
      5,
    );
    relay.child.kill('SIGINT');
    expect(await relay.exited).toBe(0);
    expect(relay.output()).toContain('stopped cleanly');
    expect((await store.listLeases()).map((lease) => lease.leaseOwner)).toEqual([null]);
  });

  it('a second signal sent later, while the stop waits on a sink that never answers, exits 1 at once', async () => {
    const s3 = await blackHole();
    try {
      const { relay } = await runningRelay({ ...process.env, AWS_ENDPOINT_URL_S3: s3.url });
      // An upload is waiting on the black hole: the stop's flush cannot finish (a stop
      // before any record was routed would have nothing to wait for and end cleanly).
      await eventually(
        'an upload to reach the sink that never answers',
        async () => (s3.connections() > 0 ? true : undefined),
        30_000,
        20,
      );
      relay.child.kill('SIGTERM');
      await eventually(
        'the relay to begin stopping',
        async () => (relay.output().includes('"msg":"stopping"') ? true : undefined),
        10_000,
        5,
      );
      await new Promise((resolve) => setTimeout(resolve, 1500));
      relay.child.kill('SIGTERM');
      expect(await relay.exited).toBe(1);
      expect(relay.output()).toContain('second signal: exiting now');
    } finally {
      await s3.close();
    }
  });

  it('a stream that does not exist: start fails, the process exits 1 naming it', async () => {
    const names = {
      stream: uniqueName('no-such-stream'),
      table: uniqueName('nostream-leases'),
      bucket: uniqueName('nostream-archive'),
    };
    await createBucket(test.clients, names.bucket);
    const relay = startRelayProcess(['run', '--config', writeConfig(testRelayConfig(names))]);
    expect(await relay.exited).toBe(1);
    expect(relay.output()).toContain('could not start');
    expect(relay.output()).toContain(names.stream);
  });

  it('a SIGTERM during start-up ends in a clean stop once the relay is up: exit 0, no lease left owned', async () => {
    const names = {
      stream: uniqueName('early-term'),
      table: uniqueName('early-term-leases'),
      bucket: uniqueName('early-term-archive'),
    };
    await createStream(test.clients.kinesis, names.stream, 2);
    await createBucket(test.clients, names.bucket);
    const relay = startRelayProcess(['run', '--config', writeConfig(testRelayConfig(names))]);
    // The HTTP server is up and the lease table is being set up: start() has not returned.
    await eventually(
      'the relay to begin starting',
      async () => (relay.output().includes('kinesis-relay starting') ? true : undefined),
      60_000,
      5,
    );
    relay.child.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    expect(relay.output()).toContain('stopped cleanly');
    const store = new LeaseStore(test.clients.dynamo, names.table);
    const owners = (await store.listLeases()).map((lease) => lease.leaseOwner);
    expect(owners.every((owner) => owner === null)).toBe(true);
  });
});
