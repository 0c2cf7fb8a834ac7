import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { KeyAttempts } from './key-attempts.js';
import { allKeysCooling, keyFailureOf, outcomeOfError, outcomeOfStatus, outcomeOfTranslatedFailure } from './failover-decision.js';

describe('outcomeOfStatus and keyFailureOf', () => {
  it.each([
    [429, 'rate_limited', 'limited'],
    [529, 'overloaded', 'limited'],
    [500, 'server_error', 'failing'],
    [502, 'server_error', 'failing'],
    [503, 'server_error', 'failing'],
    [504, 'server_error', 'failing'],
    [401, 'auth_failed', 'auth'],
    [403, 'auth_failed', 'auth'],
  ])('fails a %d over to the next key (%s)', (status, outcome, failure) => {
    expect(outcomeOfStatus(status)).toBe(outcome);
    expect(keyFailureOf(outcomeOfStatus(status))).toBe(failure);
  });

  it.each([
    [200, 'ok'],
    [204, 'ok'],
    [304, 'ok'],
    [400, 'client_error'],
    [404, 'client_error'],
    [413, 'client_error'],
    [422, 'client_error'],
    [501, 'error'],
    [505, 'error'],
  ])('answers a %d as it is (%s)', (status, outcome) => {
    expect(outcomeOfStatus(status)).toBe(outcome);
    expect(keyFailureOf(outcomeOfStatus(status))).toBeUndefined();
  });
});

describe('outcomeOfError', () => {
  it.each([
    [ErrorCode.UpstreamUnreachable, 'unreachable'],
    [ErrorCode.UpstreamError, 'unreachable'],
    [ErrorCode.UpstreamTimeout, 'timeout'],
  ])('fails %s over', (code, outcome) => {
    const found = outcomeOfError(new GatewayError(code, 'x'));
    expect(found).toBe(outcome);
    expect(keyFailureOf(found!)).toBe('failing');
  });

  it.each([ErrorCode.BadRequest, ErrorCode.PayloadTooLarge, ErrorCode.UpstreamIdle, ErrorCode.Internal])('does not fail %s over', (code) => {
    expect(outcomeOfError(new GatewayError(code, 'x'))).toBeUndefined();
  });

  it('fails a key whose credentials are unavailable over without the auth penalty', () => {
    expect(keyFailureOf('key_unavailable')).toBe('failing');
  });
});

describe('outcomeOfTranslatedFailure', () => {
  it('goes by the upstream status when there is one', () => {
    expect(outcomeOfTranslatedFailure(429, new GatewayError(ErrorCode.RateLimited, 'x'))).toBe('rate_limited');
    expect(outcomeOfTranslatedFailure(401, new GatewayError(ErrorCode.UpstreamError, 'x'))).toBe('auth_failed');
    expect(outcomeOfTranslatedFailure(400, new GatewayError(ErrorCode.BadRequest, 'x'))).toBe('client_error');
  });

  it('else by what the failure says: an overloaded_error event after a 200, a refused connection, a timeout', () => {
    expect(outcomeOfTranslatedFailure(undefined, new GatewayError(ErrorCode.Overloaded, 'Overloaded'))).toBe('overloaded');
    expect(outcomeOfTranslatedFailure(undefined, new GatewayError(ErrorCode.RateLimited, 'usage limit'))).toBe('rate_limited');
    expect(outcomeOfTranslatedFailure(undefined, new GatewayError(ErrorCode.Unavailable, 'x'))).toBe('server_error');
    expect(outcomeOfTranslatedFailure(undefined, new GatewayError(ErrorCode.UpstreamUnreachable, 'ECONNREFUSED'))).toBe('unreachable');
    expect(outcomeOfTranslatedFailure(undefined, new GatewayError(ErrorCode.UpstreamTimeout, 'x'))).toBe('timeout');
  });

  it('answers a failure that is nobody\'s key as it is', () => {
    expect(keyFailureOf(outcomeOfTranslatedFailure(undefined, new GatewayError(ErrorCode.UpstreamError, 'stream cut')))).toBeUndefined();
    expect(keyFailureOf(outcomeOfTranslatedFailure(undefined, new GatewayError(ErrorCode.BadRequest, 'prompt is too long')))).toBeUndefined();
  });
});

describe('allKeysCooling', () => {
  it('is a 429 whose retry-after is the soonest key\'s end of cooldown, in whole seconds', () => {
    const now = 1_000_000;
    const attempts = new KeyAttempts([0, 1], [
      { failures: 1, until: now + 40_500},
      { failures: 1, until: now + 12_200},
    ] as never);
    const error = allKeysCooling({ name: 'team' } as never, attempts, now);
    expect(error.status).toBe(429);
    expect(error.retryAfterSeconds).toBe(13);
    expect(error.message).toContain('pool "team"');
  });
});
