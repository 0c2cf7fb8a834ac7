import type { IncomingHttpHeaders } from 'node:http';

/** Headers whose values are secrets: the echo shows they were set, not what they hold. */
const SECRET_HEADERS = new Set(['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'proxy-authorization']);

/** What the built-in demo upstream answers: the request as it arrived, secrets masked. */
export function echoOf(
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): Record<string, unknown> {
  const q = url.indexOf('?');
  const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  const maskedQuery: Record<string, string> = {};
  for (const [name, value] of query) maskedQuery[name] = /key|token|secret/i.test(name) ? mask(value) : value;
  const maskedHeaders: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    maskedHeaders[name] = SECRET_HEADERS.has(name) && typeof value === 'string' ? maskCredential(value) : value;
  }
  const text = body.toString('utf8');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return {
    demo: 'piapi built-in echo upstream',
    method,
    path: q === -1 ? url : url.slice(0, q),
    query: maskedQuery,
    headers: maskedHeaders,
    body_bytes: body.length,
    body: json ?? (text.length <= 4096 ? text : `${text.slice(0, 4096)}…`),
  };
}

/** `Bearer <token>` keeps its scheme in clear. */
function maskCredential(value: string): string {
  const scheme = /^(Bearer|Basic)\s+/i.exec(value);
  return scheme ? scheme[0] + mask(value.slice(scheme[0].length)) : mask(value);
}

/** Keeps a short prefix so a reader can tell which key was injected without seeing it. */
export function mask(secret: string): string {
  const visible = Math.min(8, Math.floor(secret.length / 3));
  return `${secret.slice(0, visible)}…(${secret.length} chars)`;
}
