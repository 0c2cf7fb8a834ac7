import { ERROR_CODES, ErrorCode } from './error-codes.js';
import { GatewayError } from './gateway-error.js';

/** Which JSON error shape the caller's client parses. */
export type ErrorFormat = 'anthropic' | 'openai';

export interface RenderedError {
  status: number;
  body: string;
}

/**
 * Anthropic clients (Claude Code, /v1/*, the `cc` service) get Anthropic errors; the rest, and
 * the OpenAI Responses API (`/v1/responses`, Codex), get OpenAI's shape.
 */
export function errorFormatForPath(path: string): ErrorFormat {
  if (path === '/v1/responses' || path.startsWith('/v1/responses/') || path.startsWith('/v1/responses?')) return 'openai';
  if (path.startsWith('/v1/') || path.startsWith('/piapi/cc/') || path === '/piapi/cc') return 'anthropic';
  return 'openai';
}

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError(ErrorCode.Internal, 'Internal error');
}

export function renderError(err: GatewayError, format: ErrorFormat, requestId: string): RenderedError {
  const info = ERROR_CODES[err.code];
  const status = err.status;
  if (format === 'anthropic') {
    return {
      status,
      body: JSON.stringify({
        type: 'error',
        error: { type: anthropicTypeForStatus(status, info.anthropicType), message: err.message },
        request_id: requestId,
      }),
    };
  }
  return {
    status,
    body: JSON.stringify({
      error: { message: err.message, type: info.openaiType, param: null, code: err.code },
      request_id: requestId,
    }),
  };
}

/** An upstream status relayed as is keeps the Anthropic type that status means. */
function anthropicTypeForStatus(status: number, fallback: string): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return fallback;
  }
}
