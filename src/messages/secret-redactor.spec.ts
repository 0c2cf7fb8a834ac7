import { describe, expect, it } from 'vitest';
import { createRedactor, redactSecrets } from './secret-redactor.js';

describe('redactSecrets', () => {
  it.each([
    ['key sk-proj-abcdefghijklmnop1234', 'key [REDACTED]'],
    ['sk-ant-api03-abcdefghijklmnopqrstuv', '[REDACTED]'],
    ['sk-ant-oat01-abcdefghijklmnopqrstuv', '[REDACTED]'],
    ['user piapi-demo-user-key', 'user [REDACTED]'],
    ['Authorization: Bearer abc.def.ghi-jkl', 'Authorization: Bearer [REDACTED]'],
    ['{"x-api-key":"0123456789abcdef"}', '{"x-api-key":"[REDACTED]"}'],
    ['token eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2ln', 'token [REDACTED]'],
    ['ghp_abcdefghijklmnopqrstuvwxyz0123456789', '[REDACTED]'],
    ['AIzaSyA1234567890abcdefghijklmnopqrstu', '[REDACTED]'],
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
