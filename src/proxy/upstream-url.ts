import type { Service } from '../config/gateway-config.js';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';

const MAX_PATH_LENGTH = 8192;
/** Encoded separators, NUL and control characters: nothing a legitimate API path needs. */
const FORBIDDEN_ENCODED = /%(2f|5c|00|0[0-9a-f]|1[0-9a-f]|7f)/i;
// eslint-disable-next-line no-control-regex
const FORBIDDEN_RAW = /[\\\u0000-\u001f\u007f\s]/;
// eslint-disable-next-line no-control-regex
const FORBIDDEN_DECODED = /[/\\\u0000-\u001f\u007f]/;
/**
 * Paths every check below passes without work: ASCII segments that do not start with a dot and
 * hold no `%`, `;` or backslash (so nothing to decode, normalize or strip), none empty but a last one.
 */
const PLAIN_REST = /^(?:\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+\/?$/;

/** Splits `/piapi/<type>/<rest>?<query>` into its parts; `rest` keeps its raw encoding. */
export function splitProxyUrl(rawUrl: string): { serviceType: string; rest: string; query: string } | undefined {
  const q = rawUrl.indexOf('?');
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q + 1);
  const match = /^\/piapi\/([^/?]+)(\/.*)?$/.exec(path);
  if (!match) return undefined;
  return { serviceType: match[1], rest: match[2] ?? '', query };
}

/**
 * Checks that `rest` cannot leave the service's base path once any server along the way
 * decodes and normalizes it, and returns it unchanged (the bytes the client sent).
 * Refused: dot segments (raw, percent-encoded, double-encoded, full-width, with `;params`), empty segments
 * (`//host`), backslashes, encoded slashes, NUL and control characters.
 */
export function checkRestPath(rest: string): string {
  const refuse = (why: string): never => {
    throw new GatewayError(ErrorCode.BadRequest, `Invalid upstream path: ${why}`);
  };
  if (rest === '') return rest;
  if (rest.length > MAX_PATH_LENGTH) refuse('too long');
  if (PLAIN_REST.test(rest)) return rest;
  if (!rest.startsWith('/')) refuse('must start with "/"');
  if (FORBIDDEN_RAW.test(rest)) refuse('backslash, whitespace or control character');
  const segments = rest.slice(1).split('/');
  segments.forEach((segment, i) => {
    if (segment === '' && i !== segments.length - 1) refuse('empty path segment');
    const decoded = decodeFully(segment);
    if (decoded === undefined) refuse('malformed percent-encoding');
    const normalized = (decoded as string).normalize('NFKC');
    if (FORBIDDEN_ENCODED.test(segment) || FORBIDDEN_DECODED.test(normalized)) {
      refuse('encoded separator or control character');
    }
    // Servlet containers (Tomcat, Jetty) drop `;params` before resolving dots: `..;` is `..` there.
    const bare = normalized.split(';')[0].trim();
    if (/^\.+$/.test(bare)) refuse('dot segment');
  });
  return rest;
}

/** Decodes until stable (double or triple encoding), so every layer's view is checked. */
function decodeFully(segment: string): string | undefined {
  let current = segment;
  for (let i = 0; i < 4 && current.includes('%'); i++) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return i === 0 ? undefined : current;
    }
    if (next === current) break;
    current = next;
    if (FORBIDDEN_ENCODED.test(current)) return '/';
  }
  return current;
}

/**
 * The upstream URL path (with query) for `rest`. Joined as text onto the service's own origin,
 * so the host can never come from the client. For `query` auth the caller's parameter of that
 * name is removed and the provider key appended.
 */
export function upstreamPath(service: Service, rest: string, query: string, providerKey: string): string {
  let search = query;
  if (service.auth.mode === 'query') {
    const name = service.auth.name;
    const kept = query === '' ? [] : query.split('&').filter((pair) => pairName(pair) !== name);
    kept.push(`${encodeURIComponent(name)}=${encodeURIComponent(service.auth.prefix + providerKey)}`);
    search = kept.join('&');
  }
  const path = service.basePath + rest || '/';
  return search === '' ? path : `${path}?${search}`;
}

function pairName(pair: string): string {
  const eq = pair.indexOf('=');
  const raw = eq === -1 ? pair : pair.slice(0, eq);
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}
