import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One request as the receiver saw it: headers, the bytes on the wire, the decoded body. */
export interface ReceivedRequest {
  readonly headers: IncomingHttpHeaders;
  /** Exactly as sent (compressed, when it was). */
  readonly raw: Buffer;
  /** Decompressed per Content-Encoding. */
  readonly body: Buffer;
  /** The answer given. */
  status: number;
}

export interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** Answer only after this long (a receiver slower than the sink's timeout). */
  readonly delayMs?: number;
}

/** Decides the answer to a request; `index` counts requests from 0. */
export type Responder = (request: ReceivedRequest, index: number) => Reply;

export interface HttpReceiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Stops listening (connections refused) until `resume`. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

/** A real node:http server on a loopback port, answering per `respond`. */
export async function startHttpReceiver(respond: Responder): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  let server = makeServer(respond, requests);
  await listen(server, 0);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    pause: () => stop(server),
    async resume() {
      server = makeServer(respond, requests);
      await listen(server, port);
    },
    close: () => stop(server),
  };
}

function makeServer(respond: Responder, requests: ReceivedRequest[]): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const request: ReceivedRequest = { headers: req.headers, raw, body, status: 0 };
      const reply = respond(request, requests.length);
      request.status = reply.status;
      requests.push(request);
      const answer = () => {
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body ?? '');
      };
      if (reply.delayMs) setTimeout(answer, reply.delayMs).unref();
      else answer();
    });
  });
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
