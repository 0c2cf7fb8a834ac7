import type { IncomingHttpHeaders } from 'node:http';
import type { Service } from '../config/gateway-config.js';

/** RFC 9110 §7.6.1 connection-specific headers, plus the legacy ones proxies also drop. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Never forwarded upstream: the caller's piapi credentials, the client's view of the network
 * (the upstream is a third party), headers the HTTP client sets itself, and our own request id.
 */
const CALLER_ONLY = new Set([
  'authorization',
  'x-api-key',
  'host',
  'expect',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-real-ip',
  'x-request-id',
]);

/** Header names listed in `Connection` are hop-by-hop too. */
function connectionListed(connection: string | string[] | undefined): Set<string> | undefined {
  // The usual values name only hop-by-hop options, which are dropped anyway.
  if (!connection || connection === 'keep-alive' || connection === 'close') return undefined;
  const values = Array.isArray(connection) ? connection : [connection];
  const names = new Set<string>();
  for (const value of values) for (const name of value.split(',')) names.add(name.trim().toLowerCase());
  return names;
}

export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  service: Service,
  providerKey: string,
  requestId: string,
): Record<string, string | string[]> {
  const listed = connectionListed(incoming.connection);
  const authName = service.auth.mode === 'header' ? service.auth.name.toLowerCase() : undefined;
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    if (HOP_BY_HOP.has(name) || CALLER_ONLY.has(name) || name === authName || listed?.has(name)) continue;
    const value = incoming[name];
    if (value !== undefined) out[name] = value;
  }
  for (const name in service.headers) out[name.toLowerCase()] = service.headers[name];
  if (authName !== undefined) out[authName] = service.auth.prefix + providerKey;
  out['x-request-id'] = requestId;
  return out;
}

/**
 * The upstream's response headers as the client gets them, in `writeHead`'s flat
 * `[name, value, name, value, …]` form (repeated headers such as `set-cookie` stay repeated).
 */
export function clientResponseHeaders(upstream: Record<string, string | string[] | undefined>, requestId: string): string[] {
  const listed = connectionListed(upstream.connection);
  const out: string[] = [];
  for (const name in upstream) {
    if (HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    const value = upstream[name];
    if (value === undefined) continue;
    // The upstream's own id stays visible without replacing ours.
    const outName = name === 'x-request-id' ? 'x-upstream-request-id' : name;
    if (typeof value === 'string') out.push(outName, value);
    else for (const item of value) out.push(outName, item);
  }
  out.push('x-request-id', requestId);
  return out;
}

/** Comma-separated feature lists: a key's own values join the client's instead of replacing them. */
const LIST_HEADERS = new Set(['anthropic-beta', 'openai-beta']);

/**
 * Adds headers that belong to a provider key (an OAuth account id, the beta an OAuth token needs).
 * They override the client's, except list headers, which are merged without duplicates.
 */
export function addKeyHeaders(headers: Record<string, string | string[]>, keyHeaders: Readonly<Record<string, string>>): void {
  for (const rawName in keyHeaders) {
    const name = rawName.toLowerCase();
    const value = keyHeaders[rawName];
    const existing = headers[name];
    if (existing !== undefined && LIST_HEADERS.has(name)) {
      const items = new Set(
        [existing, value]
          .flat()
          .flatMap((v) => v.split(','))
          .map((v) => v.trim())
          .filter((v) => v !== ''),
      );
      headers[name] = [...items].join(',');
    } else {
      headers[name] = value;
    }
  }
}
