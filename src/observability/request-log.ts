import type { FastifyReply, FastifyRequest } from 'fastify';
import { peekRequestFacts } from './request-facts.js';

/** Probes and scrapes: neither logged nor counted. */
export const QUIET_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** The path without its query string: queries may carry keys (`?api_key=`). */
export function logPath(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * The one log line of a request, built only from fields we choose, so headers, query strings
 * and bodies (where keys live) never reach the log.
 */
export function requestLine(req: FastifyRequest, reply: FastifyReply, path: string, seconds: number, finished: boolean): Record<string, unknown> {
  const facts = peekRequestFacts(req.raw);
  return {
    request_id: req.id,
    method: req.method,
    path,
    status: reply.statusCode,
    duration_ms: Math.round(seconds * 1e6) / 1000,
    user: facts?.user,
    service_type: facts?.serviceType,
    upstream_provider: facts?.provider,
    model: facts?.model,
    bytes_in: facts?.meter?.bytesIn() ?? numberHeader(req.headers['content-length']),
    bytes_out: facts?.meter?.bytesOut() ?? numberHeader(reply.getHeader('content-length')),
    outcome: facts?.outcome ?? (finished ? undefined : 'client_closed'),
  };
}

function numberHeader(value: unknown): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}
