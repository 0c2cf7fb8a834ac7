import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from './error-codes.js';
import { errorFormatForPath, renderError, toGatewayError } from './error-body.js';
import { GatewayError } from './gateway-error.js';

const HTTP_STATUS_CODES: Record<number, ErrorCode> = {
  400: ErrorCode.BadRequest,
  401: ErrorCode.Unauthenticated,
  403: ErrorCode.Forbidden,
  404: ErrorCode.NotFound,
  413: ErrorCode.PayloadTooLarge,
  415: ErrorCode.UnsupportedMediaType,
  429: ErrorCode.RateLimited,
  503: ErrorCode.Unavailable,
};

/** Nest's own exceptions (unknown route, ...) become gateway errors with a safe message. */
export function fromUnknown(err: unknown): GatewayError {
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const code = HTTP_STATUS_CODES[status] ?? (status >= 500 ? ErrorCode.Internal : ErrorCode.BadRequest);
    const message = status === 404 ? 'Not found' : err.message;
    return new GatewayError(code, message, status);
  }
  // Fastify's own errors (malformed URL, bad content length, ...) carry a 4xx statusCode.
  const status = (err as { statusCode?: unknown } | undefined)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new GatewayError(HTTP_STATUS_CODES[status] ?? ErrorCode.BadRequest, (err as Error).message, status);
  }
  return toGatewayError(err);
}

/** The one place errors become responses, in the wire format the client speaks, with the request id. */
@Catch()
export class GatewayExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    answerError(exception, ctx.getRequest<FastifyRequest>(), ctx.getResponse<FastifyReply>(), this.logger);
  }
}

/** What the filter does, for routes served outside Nest's router (the pass-through proxy). */
export function answerError(exception: unknown, req: FastifyRequest, reply: FastifyReply, logger: Pick<Logger, 'error'>): void {
  const error = fromUnknown(exception);
  if (!(exception instanceof GatewayError) && !(exception instanceof HttpException)) {
    logger.error({ request_id: req.id, err: describe(exception) }, 'unhandled error');
  }
  if (reply.sent || reply.raw.headersSent) {
    // The status line is gone; cutting the connection is the only honest signal left.
    reply.raw.destroy();
    return;
  }
  const { status, body } = renderError(error, errorFormatForPath(req.url), String(req.id));
  if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds));
  void reply.code(status).header('content-type', 'application/json').send(body);
}

function describe(err: unknown): { type: string; message: string } {
  return err instanceof Error ? { type: err.name, message: err.message } : { type: typeof err, message: String(err) };
}
