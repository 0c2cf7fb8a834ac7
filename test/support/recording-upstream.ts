import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Raw request target as received (path and query). */
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** True when the client went away before the response finished. */
  closedEarly: boolean;
  /** The client's source port: equal ports mean a reused keep-alive connection. */
  remotePort: number;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface RecordingUpstream {
  url: string;
  requests: RecordedRequest[];
  setHandler(handler: UpstreamHandler): void;
  close(): Promise<void>;
}

const echoJson: UpstreamHandler = (req, res, body) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ok: true, method: req.method, url: req.url, bytes: body.length }));
};

/** A real HTTP server on 127.0.0.1:0 that records every request byte for byte. */
export async function startRecordingUpstream(handler: UpstreamHandler = echoJson): Promise<RecordingUpstream> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const record: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.alloc(0), closedEarly: false, remotePort: req.socket.remotePort ?? 0 };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.closedEarly = true;
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      record.body = Buffer.concat(chunks);
      void Promise.resolve(current(req, res, record.body)).catch(() => res.destroy());
    });
    req.on('error', () => undefined);
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setHandler: (h) => (current = h),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
