import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Options } from 'pino-http';
import { peekRequestFacts } from './request-facts.js';

/** The path without its query string: queries may carry keys (`?api_key=`). */
export function logPath(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function requestLine(req: IncomingMessage, res: ServerResponse, responseTime: number): Record<string, unknown> {
  const facts = peekRequestFacts(req);
  const contentLength = Number(req.headers['content-length'] ?? 0);
  const sentLength = Number(res.getHeader('content-length') ?? 0);
  return {
    request_id: (req as IncomingMessage & { id?: unknown }).id,
    method: req.method,
    path: logPath((req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url),
    status: res.statusCode,
    duration_ms: responseTime,
    user: facts?.user,
    service_type: facts?.serviceType,
    upstream_provider: facts?.provider,
    model: facts?.model,
    bytes_in: facts?.bytesIn ?? (Number.isFinite(contentLength) ? contentLength : 0),
    bytes_out: facts?.bytesOut ?? (Number.isFinite(sentLength) ? sentLength : 0),
    outcome: facts?.outcome,
  };
}

/**
 * pino-http options: one flat line per request, built only from fields we choose, so headers,
 * query strings and bodies (where keys live) never reach the log.
 */
export function requestLogOptions(): Options {
  return {
    quietReqLogger: true,
    customAttributeKeys: { reqId: 'request_id' },
    serializers: {
      req: () => undefined,
      res: () => undefined,
      err: (err: Error) => ({ type: err.name, message: err.message }),
    },
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
    customSuccessObject: (req, res, val: { responseTime: number }) => requestLine(req, res, val.responseTime),
    customErrorObject: (req, res, _err, val: { responseTime: number }) => requestLine(req, res, val.responseTime),
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', 'headers["x-api-key"]'],
      censor: '[redacted]',
    },
  };
}
