import type { FastifyReply, FastifyRequest } from 'fastify';
import { numberMember, stringMember } from './json-line.js';
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
export function requestLine(req: FastifyRequest, reply: FastifyReply, path: string, seconds: number, finished: boolean): RequestRecord {
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
    provider_key: facts?.providerKey,
    attempts: facts?.attempts,
    model: facts?.model,
    bytes_in: facts?.meter?.bytesIn() ?? numberHeader(req.headers['content-length']),
    bytes_out: facts?.meter?.bytesOut() ?? numberHeader(reply.getHeader('content-length')),
    outcome: facts?.outcome ?? (finished ? undefined : 'client_closed'),
  };
}

export interface RequestRecord {
  request_id: string;
  method: string;
  path: string;
  status: number;
  duration_ms: number;
  user: string | undefined;
  service_type: string | undefined;
  upstream_provider: string | undefined;
  provider_key?: string;
  attempts?: number;
  model: string | undefined;
  bytes_in: number;
  bytes_out: number;
  outcome: string | undefined;
}

/** The record as JSON members, in its order, for writeJsonLine (undefined members left out). */
export function requestLineMembers(r: RequestRecord): string {
  return (
    stringMember('request_id', r.request_id) +
    stringMember('method', r.method) +
    stringMember('path', r.path) +
    numberMember('status', r.status) +
    numberMember('duration_ms', r.duration_ms) +
    stringMember('user', r.user) +
    stringMember('service_type', r.service_type) +
    stringMember('upstream_provider', r.upstream_provider) +
    stringMember('provider_key', r.provider_key) +
    numberMember('attempts', r.attempts) +
    stringMember('model', r.model) +
    numberMember('bytes_in', r.bytes_in) +
    numberMember('bytes_out', r.bytes_out) +
    stringMember('outcome', r.outcome)
  );
}

function numberHeader(value: unknown): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}
