import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../errors/error-codes.js';
import { anthropicErrorBody, isRefusal, upstreamErrorToGatewayError } from './upstream-error.js';

function map(errorMessage: string, observedStatus?: number, stopReason: 'error' | 'aborted' = 'error') {
  return upstreamErrorToGatewayError({ errorMessage, stopReason }, observedStatus);
}

describe('upstreamErrorToGatewayError', () => {
  it.each([
    ['429 {"type":"error","error":{"type":"rate_limit_error","message":"Too many"}}', ErrorCode.RateLimited, 'Too many'],
    ['529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', ErrorCode.Overloaded, 'Overloaded'],
    ['400 {"type":"error","error":{"type":"invalid_request_error","message":"bad field"}}', ErrorCode.BadRequest, 'bad field'],
    ['403 Project does not have access to model gpt-5', ErrorCode.Forbidden, 'Upstream denied access: Project does not have access to model gpt-5'],
    ['404 The model `gpt-9` does not exist', ErrorCode.NotFound, 'The model `gpt-9` does not exist'],
    ['503 Service Unavailable', ErrorCode.Unavailable, 'Service Unavailable'],
    ['500 Internal server error', ErrorCode.UpstreamError, 'Internal server error'],
    ['Request timed out.', ErrorCode.UpstreamTimeout, 'Request timed out.'],
    ['Connection error.', ErrorCode.UpstreamUnreachable, 'Upstream unreachable: Connection error.'],
    ['fetch failed', ErrorCode.UpstreamUnreachable, 'Upstream unreachable: fetch failed'],
    ['something odd', ErrorCode.UpstreamError, 'something odd'],
  ])('maps %s', (message, code, text) => {
    const error = map(message);
    expect(error.code).toBe(code);
    expect(error.message).toBe(text);
  });

  it("maps a 401 to an upstream error, not to the client's authentication", () => {
    const error = map('401 Incorrect API key provided: sk-proj-****abcd');
    expect(error.code).toBe(ErrorCode.UpstreamError);
    expect(error.message).toBe('Upstream rejected the provider credentials: Incorrect API key provided: [REDACTED]');
  });

  it('uses the observed status when the message carries none (Codex)', () => {
    expect(map('You have hit your ChatGPT usage limit (plus plan).', 429).code).toBe(ErrorCode.RateLimited);
    expect(map('Invalid request', 400).code).toBe(ErrorCode.BadRequest);
  });

  it("reads the status and message of Google's error body, which its SDK gives without a status prefix", () => {
    const body = '{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}';
    expect(map(body)).toMatchObject({ code: ErrorCode.RateLimited, message: 'Resource has been exhausted (e.g. check quota).' });
    expect(map(`got status: RESOURCE_EXHAUSTED. ${body}`).code).toBe(ErrorCode.RateLimited);
    expect(map('{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT"}}').code).toBe(ErrorCode.BadRequest);
    expect(map('{"error":{"code":"x","message":"odd"}}').code).toBe(ErrorCode.UpstreamError);
  });

  it('ignores an observed success status', () => {
    expect(map('stream broke', 200).code).toBe(ErrorCode.UpstreamError);
  });

  it('words a context overflow the way Claude Code recognizes', () => {
    const error = map('400 {"error":{"message":"Your input exceeds the context window of this model."}}');
    expect(error.code).toBe(ErrorCode.BadRequest);
    expect(error.message).toBe('prompt is too long: Your input exceeds the context window of this model.');
  });

  it('does not take a rate limit on tokens for an overflow', () => {
    expect(map('429 Rate limit reached: too many tokens per minute').code).toBe(ErrorCode.RateLimited);
  });

  it('maps an aborted request to a timeout', () => {
    expect(map('Request was aborted', undefined, 'aborted').code).toBe(ErrorCode.UpstreamTimeout);
  });

  it('removes secrets from upstream messages', () => {
    expect(map('400 bad header Authorization: Bearer abcdefghijklmnop').message).toBe('bad header Authorization: Bearer [REDACTED]');
  });

  it('gives an error frame the Anthropic type of its code', () => {
    expect(anthropicErrorBody(map('429 slow'))).toEqual({ type: 'rate_limit_error', message: 'slow' });
  });
});

describe('isRefusal', () => {
  it('recognizes a content filter', () => {
    expect(isRefusal({ stopReason: 'error', errorMessage: 'Provider finish_reason: content_filter' })).toBe(true);
    expect(isRefusal({ stopReason: 'error', errorMessage: '500 boom' })).toBe(false);
  });
});
