/** Every failure the gateway reports, independent of the wire format it is rendered in. */
export enum ErrorCode {
  BadRequest = 'bad_request',
  Unauthenticated = 'unauthenticated',
  Forbidden = 'forbidden',
  NotFound = 'not_found',
  PayloadTooLarge = 'payload_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  /** A WebSocket upgrade asked of an HTTP-only route. */
  UpgradeRequired = 'upgrade_required',
  /** OpenAI's own code for a 429, which OpenAI clients know. */
  RateLimited = 'rate_limit_exceeded',
  Internal = 'internal',
  UpstreamUnreachable = 'upstream_unreachable',
  UpstreamTimeout = 'upstream_timeout',
  UpstreamIdle = 'upstream_idle',
  UpstreamError = 'upstream_error',
  Unavailable = 'unavailable',
  Overloaded = 'overloaded',
}

interface CodeInfo {
  status: number;
  /** Anthropic `error.type` for this code. */
  anthropicType: string;
  /** OpenAI `error.type` for this code. */
  openaiType: string;
}

export const ERROR_CODES: Readonly<Record<ErrorCode, CodeInfo>> = {
  [ErrorCode.BadRequest]: { status: 400, anthropicType: 'invalid_request_error', openaiType: 'invalid_request_error' },
  [ErrorCode.Unauthenticated]: { status: 401, anthropicType: 'authentication_error', openaiType: 'invalid_request_error' },
  [ErrorCode.Forbidden]: { status: 403, anthropicType: 'permission_error', openaiType: 'invalid_request_error' },
  [ErrorCode.NotFound]: { status: 404, anthropicType: 'not_found_error', openaiType: 'invalid_request_error' },
  [ErrorCode.PayloadTooLarge]: { status: 413, anthropicType: 'request_too_large', openaiType: 'invalid_request_error' },
  [ErrorCode.UnsupportedMediaType]: { status: 415, anthropicType: 'invalid_request_error', openaiType: 'invalid_request_error' },
  [ErrorCode.UpgradeRequired]: { status: 426, anthropicType: 'invalid_request_error', openaiType: 'invalid_request_error' },
  [ErrorCode.RateLimited]: { status: 429, anthropicType: 'rate_limit_error', openaiType: 'rate_limit_error' },
  [ErrorCode.Internal]: { status: 500, anthropicType: 'api_error', openaiType: 'server_error' },
  [ErrorCode.UpstreamUnreachable]: { status: 502, anthropicType: 'api_error', openaiType: 'server_error' },
  [ErrorCode.UpstreamError]: { status: 502, anthropicType: 'api_error', openaiType: 'server_error' },
  [ErrorCode.Unavailable]: { status: 503, anthropicType: 'api_error', openaiType: 'server_error' },
  [ErrorCode.UpstreamTimeout]: { status: 504, anthropicType: 'timeout_error', openaiType: 'server_error' },
  [ErrorCode.UpstreamIdle]: { status: 504, anthropicType: 'timeout_error', openaiType: 'server_error' },
  [ErrorCode.Overloaded]: { status: 529, anthropicType: 'overloaded_error', openaiType: 'server_error' },
};
