import { describe, expect, it } from 'vitest';
import { serviceTypeLabel, statusClass } from './metric-names.js';

describe('serviceTypeLabel', () => {
  const known = new Set(['cc', 'cx']);

  it('uses a configured pass-through type', () => {
    expect(serviceTypeLabel('/piapi/cx/v1/responses', known)).toBe('cx');
    expect(serviceTypeLabel('/piapi/cc', known)).toBe('cc');
  });

  it('never turns an unknown path segment into a label value', () => {
    expect(serviceTypeLabel('/piapi/attacker-controlled-123/x', known)).toBe('unknown');
    expect(serviceTypeLabel('/random/path', known)).toBe('other');
  });

  it('names the Messages API routes', () => {
    expect(serviceTypeLabel('/v1/messages', known)).toBe('messages');
    expect(serviceTypeLabel('/v1/messages/count_tokens', known)).toBe('count_tokens');
    expect(serviceTypeLabel('/v1/models', known)).toBe('models');
  });
});

describe('statusClass', () => {
  it('groups statuses by hundred', () => {
    expect([statusClass(200), statusClass(404), statusClass(529), statusClass(0)]).toEqual(['2xx', '4xx', '5xx', 'other']);
  });
});
