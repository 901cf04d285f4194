import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';

/*
 * A fault-injecting HTTP proxy for the chaos scenarios: it sits between a relay and one
 * emulator (kinesis-local, dynalite, s3rver) and, per operation and by schedule, delays a
 * call, answers 500/503, answers the service's own throttling error in its wire format,
 * resets the connection, never answers or answers one byte at a time. Everything else is forwarded byte for byte
 * (headers included: s3rver checks SigV4 signatures, which cover the Host header).
 *
 * An operation is the `X-Amz-Target` of a JSON API call (`DynamoDB_20120810.UpdateItem`,
 * `Kinesis_20131202.GetRecords`) and `METHOD /path` otherwise (S3: `PUT /bucket/key`).
 */

export type ThrottleError =
  | 'ProvisionedThroughputExceededException'
  | 'ThrottlingException'
  | 'LimitExceededException'
  | 'SlowDown';

export type Fault =
  /** Forward the call, but only after this long. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Answer a server error in the service's format (InternalFailure / ServiceUnavailable). */
  | { readonly kind: 'status'; readonly status: 500 | 503 }
  /** Answer the service's throttling error (400 JSON for DynamoDB/Kinesis, 503 XML for S3). */
  | { readonly kind: 'throttle'; readonly error: ThrottleError }
  /** Drop the connection with a TCP reset, without an answer. */
  | { readonly kind: 'reset' }
  /** Keep the connection open and never answer. */
  | { readonly kind: 'hang' }
  /**
   * Start an answer and send one more byte of its headers every `everyMs`, never finishing
   * it: a connection that is never idle but never answers (no idle timeout ends it).
   */
  | { readonly kind: 'trickle'; readonly everyMs: number };

export type FaultKind = Fault['kind'];

export interface FaultRule {
  /** Which operations: an exact operation, its last part (`UpdateItem`), a RegExp or a test. */
  readonly match: string | RegExp | ((operation: string) => boolean);
  readonly fault: Fault;
  /** Active from this many ms after the rule was added (default: at once). */
  readonly afterMs?: number;
  /** Active for this long (default: until removed). */
  readonly forMs?: number;
  /** Share of matching calls hit, drawn from the proxy's seeded RNG (default 1). */
  readonly probability?: number;
  /** Hit at most this many calls (default: no limit). */
  readonly times?: number;
}

export interface ActiveRule {
  /** Calls this rule has hit so far. */
  readonly hits: number;
  remove(): void;
}

export interface FaultProxyOptions {
  /** Where calls go, e.g. http://127.0.0.1:4567. */
  readonly target: string;
  /** Seed of the RNG behind `probability` (default 1): a run is repeatable. */
  readonly seed?: number;
}

export interface FaultProxy {
  /** The proxy's own endpoint: give it to the client instead of the target. */
  readonly endpoint: string;
  readonly port: number;
  inject(rule: FaultRule): ActiveRule;
  /** Removes every rule and answers every hung call by resetting it. */
  clear(): void;
  /** Calls seen per operation (faulted or not). */
  readonly calls: ReadonlyMap<string, number>;
  /** Injected faults per `operation kind`, e.g. `DynamoDB_20120810.UpdateItem throttle`. */
  readonly faults: ReadonlyMap<string, number>;
  /** Every hung call: when it started and how long until the client gave up on it. */
  readonly hungCalls: readonly HungCall[];
  /** Trickled answers whose connection is still open (the client has not given up). */
  trickling(): number;
  /** Sum of calls whose operation matches. */
  callCount(match?: FaultRule['match']): number;
  /** Sum of injected faults whose operation (and kind) match. */
  faultCount(match?: FaultRule['match'], kind?: FaultKind): number;
  close(): Promise<void>;
}

export interface HungCall {
  readonly operation: string;
  readonly since: number;
  /** Null while the client still waits (or if the proxy itself ended it). */
  abandonedAfterMs: number | null;
}

interface RuleState {
  readonly rule: FaultRule;
  readonly addedAt: number;
  hits: number;
  removed: boolean;
}

/** mulberry32: a tiny seeded PRNG, so a probabilistic schedule repeats run to run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function operationOf(request: IncomingMessage): string {
  const target = request.headers['x-amz-target'];
  if (typeof target === 'string' && target.length > 0) return target;
  return `${request.method ?? 'GET'} ${(request.url ?? '/').split('?')[0]}`;
}

export function matches(match: FaultRule['match'], operation: string): boolean {
  if (typeof match === 'function') return match(operation);
  if (match instanceof RegExp) return match.test(operation);
  return operation === match || operation.endsWith(`.${match}`);
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const random = seededRandom(options.seed ?? 1);
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const rules: RuleState[] = [];
  const calls = new Map<string, number>();
  const faults = new Map<string, number>();
  const hung = new Set<ServerResponse>();
  const hungCalls: HungCall[] = [];
  let closing = false;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  /** The timers of trickled answers, while their connection is open. */
  const trickles = new Set<NodeJS.Timeout>();

  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

  /** The first active rule that takes this call (a probability miss lets later rules try). */
  const pick = (operation: string): RuleState | undefined => {
    const now = Date.now();
    for (const state of rules) {
      const { rule } = state;
      if (state.removed || !matches(rule.match, operation)) continue;
      const from = state.addedAt + (rule.afterMs ?? 0);
      if (now < from) continue;
      if (rule.forMs !== undefined && now >= from + rule.forMs) continue;
      if (rule.times !== undefined && state.hits >= rule.times) continue;
      if (rule.probability !== undefined && random() >= rule.probability) continue;
      return state;
    }
    return undefined;
  };

  const forward = (request: IncomingMessage, response: ServerResponse) => {
    const upstream = httpRequest(
      {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
        agent,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(response);
        answer.once('error', () => response.destroy());
      },
    );
    upstream.once('error', () => {
      // The emulator went away mid-call: the client sees what it would see from it.
      if (!response.headersSent) response.socket?.destroy();
      else response.destroy();
    });
    response.once('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    request.pipe(upstream);
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const operation = operationOf(request);
    bump(calls, operation);
    const state = pick(operation);
    if (!state) {
      forward(request, response);
      return;
    }
    state.hits += 1;
    const { fault } = state.rule;
    bump(faults, `${operation} ${fault.kind}`);
    switch (fault.kind) {
      case 'delay': {
        request.pause();
        const timer = setTimeout(() => {
          timers.delete(timer);
          request.resume();
          forward(request, response);
        }, fault.ms);
        timers.add(timer);
        return;
      }
      case 'status':
      case 'throttle':
        // Read the body first: answering early makes some clients see a reset instead.
        request.resume();
        request.once('end', () => answerError(request, response, fault));
        return;
      case 'reset':
        request.socket.resetAndDestroy();
        return;
      case 'trickle': {
        // Raw bytes on the socket: the status line, then a header that never ends.
        request.resume();
        const socket = request.socket;
        socket.write('HTTP/1.1 200 OK\r\nx-trickle: ');
        const timer = setInterval(() => socket.write('.'), fault.everyMs);
        timers.add(timer);
        trickles.add(timer);
        socket.once('close', () => {
          clearInterval(timer);
          timers.delete(timer);
          trickles.delete(timer);
        });
        return;
      }
      case 'hang':
        request.resume();
        hung.add(response);
        {
          const call: HungCall = { operation, since: Date.now(), abandonedAfterMs: null };
          hungCalls.push(call);
          response.once('close', () => {
            // Ended by the client (its timeout), not by clear() or close().
            if (hung.delete(response) && !closing) call.abandonedAfterMs = Date.now() - call.since;
          });
        }
        return;
    }
  };

  const server: Server = createServer(handle);
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const sum = (map: ReadonlyMap<string, number>, test: (key: string) => boolean) =>
    [...map].reduce((total, [key, count]) => total + (test(key) ? count : 0), 0);

  const clear = () => {
    for (const state of rules) state.removed = true;
    rules.length = 0;
    const stuck = [...hung];
    hung.clear();
    for (const response of stuck) response.socket?.resetAndDestroy();
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    calls,
    faults,
    hungCalls,
    trickling: () => trickles.size,
    inject(rule) {
      const state: RuleState = { rule, addedAt: Date.now(), hits: 0, removed: false };
      rules.push(state);
      return {
        get hits() {
          return state.hits;
        },
        remove() {
          state.removed = true;
          const index = rules.indexOf(state);
          if (index >= 0) rules.splice(index, 1);
        },
      };
    },
    clear,
    callCount: (match) => sum(calls, (operation) => !match || matches(match, operation)),
    faultCount: (match, kind) =>
      sum(faults, (key) => {
        const at = key.lastIndexOf(' ');
        const operation = key.slice(0, at);
        return (!match || matches(match, operation)) && (!kind || key.slice(at + 1) === kind);
      }),
    async close() {
      closing = true;
      clear();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

/** The error a service itself would send, in its own wire format. */
function answerError(
  request: IncomingMessage,
  response: ServerResponse,
  fault: Extract<Fault, { kind: 'status' | 'throttle' }>,
): void {
  const target = request.headers['x-amz-target'];
  const requestId = randomUUID();
  if (typeof target !== 'string') {
    // S3: XML errors; SlowDown is S3's throttle and comes as a 503.
    const [status, code, message] =
      fault.kind === 'throttle'
        ? [503, 'SlowDown', 'Please reduce your request rate.']
        : fault.status === 500
          ? [500, 'InternalError', 'We encountered an internal error. Please try again.']
          : [503, 'ServiceUnavailable', 'Service is unable to handle request.'];
    const body =
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
      `<Message>${message}</Message><RequestId>${requestId}</RequestId></Error>`;
    response.writeHead(status, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
      'x-amz-request-id': requestId,
    });
    response.end(body);
    return;
  }
  const dynamo = target.startsWith('DynamoDB_');
  let type: string;
  let status: number;
  if (fault.kind === 'throttle') {
    status = 400;
    const name = fault.error === 'SlowDown' ? 'ThrottlingException' : fault.error;
    type = dynamo
      ? name === 'ThrottlingException'
        ? 'com.amazon.coral.availability#ThrottlingException'
        : `com.amazonaws.dynamodb.v20120810#${name}`
      : name;
  } else {
    status = fault.status;
    type =
      fault.status === 500
        ? dynamo
          ? 'com.amazonaws.dynamodb.v20120810#InternalServerError'
          : 'InternalFailure'
        : dynamo
          ? 'com.amazon.coral.availability#ServiceUnavailableException'
          : 'ServiceUnavailable';
  }
  const body = JSON.stringify({ __type: type, message: `injected by the fault proxy (${type})` });
  response.writeHead(status, {
    'content-type': dynamo ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
  });
  response.end(body);
}
