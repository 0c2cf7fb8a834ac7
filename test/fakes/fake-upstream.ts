import { EventEmitter } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { waitForClose, wasClosedByServer } from './connection-faults.js';

export interface RecordedRequest {
  readonly method: string;
  /** Path and query exactly as received, e.g. `/v1/messages?beta=true`. */
  readonly url: string;
  /** `url` without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** Header names and values in the order and letter case received. */
  readonly rawHeaders: readonly string[];
  /** The body bytes exactly as received. */
  readonly body: Buffer;
  /** The client closed the request or its connection before the response finished. */
  closedEarly: boolean;
  /** Resolves once the exchange is over: response finished or connection gone. */
  readonly closed: Promise<void>;
  readonly receivedAt: number;
  text(): string;
  json<T = RecordedJson>(): T;
}

/** A parsed recorded body. Specs read arbitrary fields of client requests, so it is left untyped. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RecordedJson = any;

/** Answers one request; it may return a promise. A throw becomes a 500 (or a cut stream). */
export type FakeHandler = (req: RecordedRequest, res: ServerResponse) => unknown;

export interface FakeUpstream {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in arrival order, recorded once its body is complete. */
  readonly requests: RecordedRequest[];
  setHandler(handler: FakeHandler): void;
  /** Resolves once at least `count` requests have been recorded. */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

const notFound: FakeHandler = (req, res) => {
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message: `fake upstream: no route for ${req.method} ${req.path}` } }));
};

/** A real HTTP server on 127.0.0.1 (port 0) that records raw requests and answers via `handler`. */
export async function startFakeUpstream(handler: FakeHandler = notFound): Promise<FakeUpstream> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const recorded = new EventEmitter();

  const record = (req: IncomingMessage, body: Buffer, closed: Promise<void>): RecordedRequest => {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const entry: RecordedRequest = {
      method: req.method ?? 'GET',
      url,
      path: queryAt === -1 ? url : url.slice(0, queryAt),
      query: new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1)),
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body,
      closedEarly: false,
      closed,
      receivedAt: Date.now(),
      text: () => body.toString('utf8'),
      json: () => JSON.parse(body.toString('utf8')),
    };
    requests.push(entry);
    recorded.emit('request');
    return entry;
  };

  const server = createServer({ noDelay: true, requestTimeout: 0 }, (req, res) => {
    const chunks: Buffer[] = [];
    let entry: RecordedRequest | undefined;
    const closed = waitForClose(res);
    res.once('close', () => {
      const early = !res.writableFinished && !wasClosedByServer(res);
      // A client that leaves before sending its whole body is still recorded.
      entry ??= record(req, Buffer.concat(chunks), closed);
      if (early) entry.closedEarly = true;
    });
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      entry = record(req, Buffer.concat(chunks), closed);
      const recordedEntry = entry;
      Promise.resolve()
        .then(() => current(recordedEntry, res))
        .catch((error: unknown) => failFromHandler(res, error));
    });
  });
  // WebSocket attempts (pi-ai's Codex transport on Node >= 22) are recorded and refused,
  // which makes such clients fall back to SSE as they do against a server without WebSockets.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    record(req, Buffer.alloc(0), Promise.resolve());
    socket.end('HTTP/1.1 426 Upgrade Required\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    setHandler: (next) => {
      current = next;
    },
    waitForRequests: (count, timeoutMs = 10_000) => waitForCount(requests, recorded, count, timeoutMs),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function waitForCount(
  requests: RecordedRequest[],
  recorded: EventEmitter,
  count: number,
  timeoutMs: number,
): Promise<RecordedRequest[]> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (requests.length < count) return;
      cleanup();
      resolve(requests.slice(0, count));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`fake upstream: ${requests.length} of ${count} requests after ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      recorded.off('request', check);
    };
    recorded.on('request', check);
    check();
  });
}

// A throwing handler must not hang the client: answer 500 or cut the stream.
function failFromHandler(res: ServerResponse, error: unknown): void {
  console.error('fake upstream handler failed:', error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(500, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message: `fake upstream handler failed: ${String(error)}` } }));
}
