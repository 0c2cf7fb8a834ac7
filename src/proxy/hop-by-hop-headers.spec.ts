import { describe, expect, it } from 'vitest';
import type { Service } from '../config/gateway-config.js';
import { addKeyHeaders, clientResponseHeaders, upstreamRequestHeaders } from './hop-by-hop-headers.js';

const service: Service = {
  type: 'cc',
  baseUrl: 'https://up.example/v1',
  origin: 'https://up.example',
  basePath: '/v1',
  auth: { mode: 'header', name: 'x-api-key', prefix: '' },
  headers: { 'x-static': 's' },
};

describe('upstreamRequestHeaders', () => {
  it('drops hop-by-hop headers, those named in Connection, and the caller credentials', () => {
    const out = upstreamRequestHeaders(
      { connection: 'close, x-secret-hop', 'x-secret-hop': '1', 'keep-alive': '5', te: 'trailers', authorization: 'Bearer caller', 'x-api-key': 'caller', host: 'gw', 'anthropic-beta': 'a' },
      service,
      'provider-key',
      'rid',
    );
    expect(out).toEqual({ 'anthropic-beta': 'a', 'x-static': 's', 'x-api-key': 'provider-key', 'x-request-id': 'rid' });
  });

  it('sends the key with the configured prefix', () => {
    const bearer = { ...service, auth: { mode: 'header' as const, name: 'Authorization', prefix: 'Bearer ' } };
    expect(upstreamRequestHeaders({}, bearer, 'k', 'r').authorization).toBe('Bearer k');
  });
});

describe('clientResponseHeaders', () => {
  it('keeps the upstream id apart from ours', () => {
    expect(clientResponseHeaders({ 'x-request-id': 'up', 'transfer-encoding': 'chunked', 'content-type': 'a' }, 'ours')).toEqual([
      'x-upstream-request-id',
      'up',
      'content-type',
      'a',
      'x-request-id',
      'ours',
    ]);
  });

  it('keeps repeated headers repeated and drops those named in Connection', () => {
    expect(clientResponseHeaders({ connection: 'x-hop', 'x-hop': '1', 'set-cookie': ['a=1', 'b=2'] }, 'r')).toEqual([
      'set-cookie',
      'a=1',
      'set-cookie',
      'b=2',
      'x-request-id',
      'r',
    ]);
  });
});

describe('addKeyHeaders', () => {
  it('merges beta lists without duplicates instead of dropping the client betas', () => {
    const headers: Record<string, string | string[]> = { 'anthropic-beta': 'claude-code-20250219, oauth-2025-04-20' };
    addKeyHeaders(headers, { 'anthropic-beta': 'oauth-2025-04-20' });
    expect(headers['anthropic-beta']).toBe('claude-code-20250219,oauth-2025-04-20');
  });

  it('overrides other headers', () => {
    const headers: Record<string, string | string[]> = { 'chatgpt-account-id': 'forged' };
    addKeyHeaders(headers, { 'ChatGPT-Account-Id': 'real' });
    expect(headers).toEqual({ 'chatgpt-account-id': 'real' });
  });
});
