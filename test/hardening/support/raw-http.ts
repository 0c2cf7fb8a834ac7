import { connect } from 'node:net';

export interface RawResponse {
  /** 0 when the gateway closed the connection without a status line. */
  status: number;
  headers: Record<string, string>;
  /** The body, de-chunked when the response was chunked. */
  body: string;
  /** Everything received, as bytes read as latin1 (what was on the wire). */
  raw: string;
  /** The connection was cut by the deadline rather than closed by the server. */
  timedOut: boolean;
}

/**
 * Sends `bytes` on a fresh TCP connection and reads until the server closes it (send
 * `Connection: close`) or `timeoutMs` passes. Nothing is normalised: this is how a hostile
 * client talks (fetch/undici and node:http clean paths and headers up first).
 */
export function rawExchange(port: number, bytes: string | Buffer, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ...parseRawResponse(Buffer.concat(chunks)), timedOut });
    });
    // write(), not end(): a half-closed client looks like one that went away.
    socket.write(bytes);
  });
}

/** A GET (or `method`) request line with `path` sent verbatim, a key and `Connection: close`. */
export function rawRequest(path: string, headers: Record<string, string> = {}, method = 'GET', body = ''): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== '' || method === 'POST') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  // latin1 keeps bytes 0x80-0xff as single bytes; callers that want UTF-8 put it in themselves.
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), Buffer.from(body)]);
}

export function parseRawResponse(bytes: Buffer): Omit<RawResponse, 'timedOut'> {
  const raw = bytes.toString('latin1');
  // Interim 100 Continue responses come before the real one.
  let start = 0;
  while (raw.startsWith('HTTP/1.1 100', start)) start = raw.indexOf('\r\n\r\n', start) + 4;
  const end = raw.indexOf('\r\n\r\n', start);
  if (end === -1) return { status: 0, headers: {}, body: '', raw };
  const head = raw.slice(start, end).split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0])?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = bytes.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  return { status, headers, body: body.toString('utf8'), raw };
}

function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
