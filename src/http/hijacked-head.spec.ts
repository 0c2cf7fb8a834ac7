import { describe, expect, it } from 'vitest';
import { withOwnHeaders } from './hijacked-head.js';

describe('withOwnHeaders', () => {
  it('adds our headers the upstream did not send, and lets the upstream win the others', () => {
    expect(withOwnHeaders(['content-type', 'a', 'x-request-id', 'r'], { 'x-request-id': 'r', 'x-own': 1, 'x-list': ['a', 'b'] })).toEqual([
      'content-type',
      'a',
      'x-request-id',
      'r',
      'x-own',
      '1',
      'x-list',
      'a',
      'x-list',
      'b',
    ]);
  });
});
