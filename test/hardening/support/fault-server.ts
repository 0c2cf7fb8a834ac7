import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultExchange {
  path: string;
  /** The client (the gateway) closed before the response finished. */
  closedEarly: boolean;
  /** Resolves once the response finished or the connection went away. */
  closed: Promise<void>;
}

export type FaultHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

export interface FaultServer {
  url: string;
  exchanges: FaultExchange[];
  /** TCP connections open right now, idle keep-alive ones included. */
  openConnections(): Promise<number>;
  /** Exchanges whose response neither finished nor lost its connection. */
  unfinished(): number;
  close(): Promise<void>;
}

/**
 * An upstream that misbehaves on purpose, routed by path prefix. It counts its own connections
 * (`server.getConnections`), so a test can tell that the gateway let go of every one of them;
 * idle keep-alive connections are closed after `keepAliveMs`, so only held ones remain.
 */
export async function startFaultServer(routes: Record<string, FaultHandler>, keepAliveMs = 300): Promise<FaultServer> {
  const exchanges: FaultExchange[] = [];
  const settled = new WeakSet<FaultExchange>();
  const server = createServer({ requestTimeout: 0, noDelay: true }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    let resolveClosed!: () => void;
    const exchange: FaultExchange = { path, closedEarly: false, closed: new Promise((r) => (resolveClosed = r)) };
    exchanges.push(exchange);
    res.once('close', () => {
      if (!res.writableFinished && !(res as ServerResponse & { faultByServer?: boolean }).faultByServer) exchange.closedEarly = true;
      settled.add(exchange);
      resolveClosed();
    });
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const route = Object.keys(routes)
      .sort((a, b) => b.length - a.length)
      .find((prefix) => path.includes(prefix));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => {
      if (!route) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no route"}');
        return;
      }
      Promise.resolve(routes[route](req, res, Buffer.concat(chunks).toString('utf8'))).catch(() => res.destroy());
    });
  });
  server.keepAliveTimeout = keepAliveMs;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    openConnections: () => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n)))),
    unfinished: () => exchanges.filter((e) => !settled.has(e)).length,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Marks `res` as cut by the server itself, so it does not count as the client closing early. */
export function cutByServer(res: ServerResponse): void {
  (res as ServerResponse & { faultByServer?: boolean }).faultByServer = true;
}

/** Writes SSE headers and `events` raw frames, flushing each. */
export function sseStart(res: ServerResponse, frames: string[] = []): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  for (const frame of frames) res.write(frame);
}

/** Sends an RST after what was written has left. */
export function resetAfterFlush(res: ServerResponse): void {
  cutByServer(res);
  const socket = res.socket;
  if (!socket) return;
  setTimeout(() => socket.resetAndDestroy(), 30);
}

/** Number of TCP handles this process holds (both ends of in-process connections count). */
export function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}
