import { describe, expect, it } from 'vitest';
import { createRedactor, redactSecrets } from './secret-redactor.js';

/**
 * A made-up token in a provider's format: the prefix plus filler, put together at run time so
 * no secret scanner takes the source for a leaked credential.
 */
function fakeToken(prefix: string, length: number): string {
  return prefix + 'FAKE0test'.repeat(Math.ceil(length / 9)).slice(0, length);
}

describe('redactSecrets', () => {
  it.each([
    [`key ${fakeToken('sk-proj-', 20)}`, 'key [REDACTED]'],
    [fakeToken('sk-ant-api03-', 22), '[REDACTED]'],
    [fakeToken('sk-ant-oat01-', 22), '[REDACTED]'],
    ['user piapi-demo-user-key', 'user [REDACTED]'],
    ['Authorization: Bearer abc.def.ghi-jkl', 'Authorization: Bearer [REDACTED]'],
    ['{"x-api-key":"0123456789abcdef"}', '{"x-api-key":"[REDACTED]"}'],
    ['token eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2ln', 'token [REDACTED]'],
    [fakeToken('ghp_', 36), '[REDACTED]'],
    [fakeToken('AIzaSy', 33), '[REDACTED]'],
  ])('masks %s', (text, expected) => {
    expect(redactSecrets(text)).toBe(expected);
  });

  it('leaves ordinary text alone', () => {
    expect(redactSecrets('run npm test and ask-me later')).toBe('run npm test and ask-me later');
  });
});

describe('createRedactor', () => {
  it('masks the given secrets wherever they appear', () => {
    expect(createRedactor(['my-provider-key-1'])('a my-provider-key-1 b my-provider-key-1')).toBe('a [REDACTED] b [REDACTED]');
  });

  it('ignores secrets too short to mask safely', () => {
    expect(createRedactor(['abc'])('abc')).toBe('abc');
  });

  it('applies extra patterns', () => {
    expect(createRedactor([], [/corp-\d+/])('id corp-42')).toBe('id [REDACTED]');
  });
});
