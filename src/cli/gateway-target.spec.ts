import { describe, expect, it } from 'vitest';
import { localGatewayUrl } from './gateway-target.js';

describe('localGatewayUrl', () => {
  it('reaches a gateway listening on all interfaces through loopback', () => {
    expect(localGatewayUrl(':9200')).toBe('http://127.0.0.1:9200');
    expect(localGatewayUrl('0.0.0.0:9200')).toBe('http://127.0.0.1:9200');
    expect(localGatewayUrl('[::]:9200')).toBe('http://[::1]:9200');
  });

  it('keeps a specific host', () => {
    expect(localGatewayUrl('127.0.0.1:9300')).toBe('http://127.0.0.1:9300');
    expect(localGatewayUrl('gateway.local:80')).toBe('http://gateway.local');
  });
});
