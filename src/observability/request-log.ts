import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { peekRequestFacts } from './request-facts.js';

export const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
const STARTED = Symbol('piapi.startedAt');

/** The path without its query string: queries may carry keys (`?api_key=`). */
export function logPath(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * One JSON line per request, built only from fields we choose, so headers, query strings and
 * bodies (where keys live) never reach the log. Written from Fastify hooks rather than an
 * Express-style middleware: no per-request child logger, and aborted streams are logged too.
 */
export function registerRequestLog(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onRequest', (req, _reply, done) => {
    (req as FastifyRequest & { [STARTED]?: bigint })[STARTED] = process.hrtime.bigint();
    done();
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    if (!QUIET_PATHS.has(logPath(req.url))) writeLine(logger, req, reply);
    done();
  });
}

function writeLine(logger: Logger, req: FastifyRequest, reply: FastifyReply): void {
  const started = (req as FastifyRequest & { [STARTED]?: bigint })[STARTED];
  const durationMs = started === undefined ? 0 : Number(process.hrtime.bigint() - started) / 1e6;
  const facts = peekRequestFacts(req.raw);
  const status = reply.statusCode;
  const finished = reply.raw.writableFinished;
  const line = {
    request_id: req.id,
    method: req.method,
    path: logPath(req.url),
    status,
    duration_ms: Math.round(durationMs * 1000) / 1000,
    user: facts?.user,
    service_type: facts?.serviceType,
    upstream_provider: facts?.provider,
    model: facts?.model,
    bytes_in: facts?.meter?.bytesIn() ?? numberHeader(req.headers['content-length']),
    bytes_out: facts?.meter?.bytesOut() ?? numberHeader(reply.getHeader('content-length')),
    outcome: facts?.outcome ?? (finished ? undefined : 'client_closed'),
  };
  if (status >= 500) logger.error(line, 'request completed');
  else if (status >= 400) logger.warn(line, 'request completed');
  else logger.info(line, 'request completed');
}

function numberHeader(value: unknown): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}
