import { ErrorCode } from '../errors/error-codes.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { KeyFailure } from './key-cooldown.js';

/**
 * What one upstream attempt came to, as the `outcome` label of `piapi_upstream_attempts_total`:
 * answered (`ok`, `client_error`: the request's fault, `error`: another 5xx), or a failure of
 * the key or its upstream that moves the request to the next key of its pool.
 */
export type AttemptOutcome =
  | 'ok'
  | 'client_error'
  | 'error'
  | 'rate_limited'
  | 'overloaded'
  | 'server_error'
  | 'auth_failed'
  | 'unreachable'
  | 'timeout'
  | 'key_unavailable';

export function outcomeOfStatus(status: number): AttemptOutcome {
  if (status < 400) return 'ok';
  switch (status) {
    case 429:
      return 'rate_limited';
    case 529:
      return 'overloaded';
    case 500:
    case 502:
    case 503:
    case 504:
      return 'server_error';
    case 401:
    case 403:
      return 'auth_failed';
    default:
      return status < 500 ? 'client_error' : 'error';
  }
}

/**
 * A failure before response headers: the connection failed or timed out (another key, or the
 * same upstream a moment later, may answer). Anything else (the client went away, a body over
 * the limit) is not the key's fault: undefined.
 */
export function outcomeOfError(error: GatewayError): AttemptOutcome | undefined {
  switch (error.code) {
    case ErrorCode.UpstreamUnreachable:
    case ErrorCode.UpstreamError:
      return 'unreachable';
    case ErrorCode.UpstreamTimeout:
      return 'timeout';
    default:
      return undefined;
  }
}

/** The key failure an outcome is, or undefined when the answer goes to the client as it is. */
export function keyFailureOf(outcome: AttemptOutcome): KeyFailure | undefined {
  switch (outcome) {
    case 'rate_limited':
    case 'overloaded':
      return 'limited';
    case 'server_error':
    case 'unreachable':
    case 'timeout':
    case 'key_unavailable':
      return 'failing';
    case 'auth_failed':
      return 'auth';
    case 'ok':
    case 'client_error':
    case 'error':
      return undefined;
  }
}
