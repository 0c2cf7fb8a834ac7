import { describe, expect, it } from 'vitest';
import { MAX_HINT_MS, parseDurationMs, rateLimitResetAt, retryAfterAt, upstreamFreeAt, usageLimitResetAt } from './cooldown-hints.js';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

describe('retryAfterAt', () => {
  it('reads retry-after as seconds', () => {
    expect(retryAfterAt({ 'retry-after': '2' }, NOW)).toBe(NOW + 2000);
  });

  it('reads fractional seconds', () => {
    expect(retryAfterAt({ 'retry-after': '0.5' }, NOW)).toBe(NOW + 500);
  });

  it('reads retry-after as an HTTP date', () => {
    expect(retryAfterAt({ 'retry-after': 'Mon, 07 Dec 2026 12:01:30 GMT' }, NOW)).toBe(NOW + 90_000);
  });

  it('prefers OpenAI retry-after-ms, which is finer', () => {
    expect(retryAfterAt({ 'retry-after': '2', 'retry-after-ms': '1500' }, NOW)).toBe(NOW + 1500);
  });

  it.each(['soon', '-5', '2026-12-07', ''])('ignores a retry-after of %j', (value) => {
    expect(retryAfterAt({ 'retry-after': value }, NOW)).toBeUndefined();
  });

  it('reads the first of repeated headers', () => {
    expect(retryAfterAt({ 'retry-after': ['3', '9'] }, NOW)).toBe(NOW + 3000);
  });
});

describe('usageLimitResetAt', () => {
  const body = (error: Record<string, unknown>) => JSON.stringify({ error: { type: 'usage_limit_reached', message: 'The usage limit has been reached', plan_type: 'plus', ...error } });

  it('reads resets_in_seconds', () => {
    expect(usageLimitResetAt(body({ resets_in_seconds: 3600 }), NOW)).toBe(NOW + 3_600_000);
  });

  it('reads resets_at as epoch seconds', () => {
    expect(usageLimitResetAt(body({ resets_at: NOW / 1000 + 120 }), NOW)).toBe(NOW + 120_000);
  });

  it('takes the later of the two when both are given', () => {
    expect(usageLimitResetAt(body({ resets_in_seconds: 60, resets_at: NOW / 1000 + 120 }), NOW)).toBe(NOW + 120_000);
  });

  it('ignores other errors, and bodies that are not JSON', () => {
    expect(usageLimitResetAt(JSON.stringify({ error: { type: 'rate_limit_error', resets_in_seconds: 5 } }), NOW)).toBeUndefined();
    expect(usageLimitResetAt('usage_limit_reached, try later', NOW)).toBeUndefined();
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['1s', 1000],
    ['6m0s', 360_000],
    ['120ms', 120],
    ['1h2m3.5s', 3_723_500],
    ['0s', 0],
    ['20ms', 20],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['', '5', 's', '1 s', '1d', '-1s'])('refuses %j', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });
});

describe('rateLimitResetAt', () => {
  it("reads the reset of OpenAI's used-up limit and ignores one with requests left", () => {
    const headers = {
      'x-ratelimit-remaining-requests': '4999',
      'x-ratelimit-reset-requests': '6m0s',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '1.5s',
    };
    expect(rateLimitResetAt(headers, NOW)).toBe(NOW + 1500);
  });

  it("reads Anthropic's RFC 3339 reset of the used-up limit", () => {
    const headers = {
      'anthropic-ratelimit-requests-remaining': '10',
      'anthropic-ratelimit-requests-reset': '2026-12-07T12:00:50Z',
      'anthropic-ratelimit-input-tokens-remaining': '0',
      'anthropic-ratelimit-input-tokens-reset': '2026-12-07T12:00:42Z',
    };
    expect(rateLimitResetAt(headers, NOW)).toBe(NOW + 42_000);
  });

  it('takes the latest reset when several limits are used up, or their remaining is not given', () => {
    const headers = { 'x-ratelimit-reset-requests': '1s', 'anthropic-ratelimit-tokens-reset': '2026-12-07T12:00:05+00:00' };
    expect(rateLimitResetAt(headers, NOW)).toBe(NOW + 5000);
  });

  it('says nothing without reset headers', () => {
    expect(rateLimitResetAt({ 'content-type': 'application/json' }, NOW)).toBeUndefined();
  });
});

describe('upstreamFreeAt', () => {
  it('lets retry-after win over the reset headers', () => {
    expect(upstreamFreeAt({ 'retry-after': '2', 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '6m0s' }, undefined, NOW)).toBe(NOW + 2000);
  });

  it('takes the later of retry-after and a usage-limit body', () => {
    const body = JSON.stringify({ error: { type: 'usage_limit_reached', resets_in_seconds: 600 } });
    expect(upstreamFreeAt({ 'retry-after': '2' }, body, NOW)).toBe(NOW + 600_000);
  });

  it('falls back to the reset headers', () => {
    expect(upstreamFreeAt({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s' }, undefined, NOW)).toBe(NOW + 1000);
  });

  it('reads a time in the past as free now', () => {
    expect(upstreamFreeAt({ 'retry-after': 'Mon, 07 Dec 2026 11:00:00 GMT' }, undefined, NOW)).toBe(NOW);
  });

  it('ignores a hint further ahead than a week', () => {
    expect(upstreamFreeAt({ 'retry-after': String(MAX_HINT_MS / 1000 + 1) }, undefined, NOW)).toBeUndefined();
  });

  it('says nothing when the answer has no hint', () => {
    expect(upstreamFreeAt({}, '{"error":{"message":"overloaded"}}', NOW)).toBeUndefined();
  });
});
