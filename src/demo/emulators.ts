import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer, connect } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real protocol implementations from npm, started on loopback for the demo and the tests:
 * kinesis-local (kinesis-mock), dynalite (DynamoDB) and s3rver (S3). They are dev
 * dependencies: `npm ci` installs them, a production image does not carry them.
 */
const require = createRequire(import.meta.url);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`emulator exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

export interface RunningEmulator {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/**
 * Waits for a child emulator's port; one that never listens is killed, so a failed start
 * leaves no process behind (it inherits our stderr and would keep a test runner open).
 */
async function waitForPortOrStop(port: number, timeoutMs: number, child: ChildProcess) {
  try {
    await waitForPort(port, timeoutMs, child);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

/**
 * kinesis-local in a child process, with the fast timings the tests want. Its ports are
 * picked free but bound only seconds later, when the emulator is up; on a busy machine
 * another process's outgoing connection can take one of them meanwhile, and kinesis-local
 * then exits (EADDRINUSE). Both its ports must answer before it counts as started, and a
 * start that lost that race is tried again on other ports.
 */
export async function startKinesisLocal(options: { port?: number } = {}): Promise<RunningEmulator> {
  const attempts = options.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startKinesisLocalOnce(options.port ?? (await freePort()));
    } catch (error) {
      if (attempt >= attempts) throw error;
    }
  }
}

async function startKinesisLocalOnce(port: number): Promise<RunningEmulator> {
  const tlsPort = await freePort();
  const child = spawn(process.execPath, [require.resolve('kinesis-local/main.js')], {
    env: {
      ...process.env,
      KINESIS_MOCK_PLAIN_PORT: String(port),
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      KINESIS_MOCK_CERT_PATH: require.resolve('kinesis-local/server.json'),
      CREATE_STREAM_DURATION: '1ms',
      DELETE_STREAM_DURATION: '1ms',
      SPLIT_SHARD_DURATION: '1ms',
      MERGE_SHARDS_DURATION: '1ms',
      UPDATE_SHARD_COUNT_DURATION: '1ms',
      SHARD_LIMIT: '500',
      LOG_LEVEL: 'ERROR',
      ROOT_LOG_LEVEL: 'ERROR',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPortOrStop(port, 30_000, child);
  await waitForPortOrStop(tlsPort, 30_000, child);
  return { endpoint: `http://127.0.0.1:${port}`, port, stop: () => stopChild(child) };
}

/** dynalite in this process (it is plain JavaScript over LevelDB in memory). */
export async function startDynalite(options: { port?: number } = {}): Promise<RunningEmulator> {
  const port = options.port ?? (await freePort());
  const dynalite = require('dynalite') as (options: object) => {
    listen(port: number, host: string, callback: (error?: Error) => void): void;
    close(callback: () => void): void;
  };
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) =>
    server.listen(port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
  );
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * s3rver in a child process: its ListObjectsV2 continuation tokens need Node's legacy
 * OpenSSL provider, and a separate process can be stopped and restarted (on the same
 * port and directory) to play an S3 outage.
 */
export async function startS3rver(
  options: { port?: number; directory?: string } = {},
): Promise<RunningEmulator & { directory: string }> {
  const port = options.port ?? (await freePort());
  const directory = options.directory ?? mkdtempSync(join(tmpdir(), 'kinesis-relay-s3-'));
  const child = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      require.resolve('s3rver/bin/s3rver.js'),
      '-d',
      directory,
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '-s',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitForPortOrStop(port, 15_000, child);
  return { endpoint: `http://127.0.0.1:${port}`, port, directory, stop: () => stopChild(child) };
}

export interface LocalStack {
  readonly kinesis: RunningEmulator;
  readonly dynamo: RunningEmulator;
  readonly s3: RunningEmulator & { directory: string };
  /** The standard SDK variables that point any AWS program at these emulators. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startLocalStack(): Promise<LocalStack> {
  const [kinesis, dynamo, s3] = await Promise.all([
    startKinesisLocal(),
    startDynalite(),
    startS3rver(),
  ]);
  return {
    kinesis,
    dynamo,
    s3,
    env: {
      AWS_REGION: 'us-east-1',
      // s3rver accepts only these credentials; the other emulators accept any.
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
    },
    stop: async () => {
      await Promise.allSettled([kinesis.stop(), dynamo.stop(), s3.stop()]);
    },
  };
}
