import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { KeyPool } from '../config/gateway-config.js';
import type { KeyAttempts } from './key-attempts.js';
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

/**
 * The outcome of a translated route's upstream stream that failed before its first output:
 * by the upstream's HTTP status when known (pi-ai's SDK providers start the message with it;
 * the Codex transport's status comes from its response hook), else by what the failure says
 * (an Anthropic `overloaded_error` event after a 200, a connection refused, a timeout).
 */
export function outcomeOfTranslatedFailure(status: number | undefined, error: GatewayError): AttemptOutcome {
  if (status !== undefined) return outcomeOfStatus(status);
  switch (error.code) {
    case ErrorCode.RateLimited:
      return 'rate_limited';
    case ErrorCode.Overloaded:
      return 'overloaded';
    case ErrorCode.Unavailable:
      return 'server_error';
    case ErrorCode.UpstreamError:
      // Not a status, a timeout or a refused connection: possibly the request's own doing (a
      // stream the target cannot produce); failing over would cool every key for one request.
      return 'error';
    default:
      return outcomeOfError(error) ?? (error.status < 500 ? 'client_error' : 'error');
  }
}

/** Every key of the pool cooling down: 429 with the soonest key's end of cooldown as `retry-after`. */
export function allKeysCooling(pool: KeyPool, attempts: KeyAttempts, now: number): GatewayError {
  const seconds = Math.max(1, Math.ceil((attempts.soonestFreeAt(now) - now) / 1000));
  return new GatewayError(ErrorCode.RateLimited, `Every key of pool "${pool.name}" is cooling down; retry in ${seconds} s`, undefined, seconds);
}
