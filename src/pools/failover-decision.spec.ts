import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors/error-codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import { keyFailureOf, outcomeOfError, outcomeOfStatus } from './failover-decision.js';

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
