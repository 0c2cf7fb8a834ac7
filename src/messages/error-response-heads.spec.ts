import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originOf, recentErrorHead, watchErrorResponseHeads } from './error-response-heads.js';

describe('error response heads', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    watchErrorResponseHeads();
    server = createServer((req, res) => {
      const status = Number(req.url?.slice(1)) || 200;
      res.writeHead(status, { 'retry-after': '9', 'anthropic-ratelimit-requests-remaining': '0' });
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('keeps the head of an error response made with fetch, found by origin, status and credential', async () => {
    await (await fetch(`${url}/429`, { method: 'POST', headers: { 'x-api-key': 'sk-secret-one' } })).text();
    expect(recentErrorHead(url, 429, 'sk-secret-one')).toMatchObject({ 'retry-after': '9', 'anthropic-ratelimit-requests-remaining': '0' });
    expect(recentErrorHead(url, 429, 'sk-secret-two')).toBeUndefined();
    expect(recentErrorHead(url, 500, 'sk-secret-one')).toBeUndefined();
    expect(recentErrorHead('http://127.0.0.1:1', 429, 'sk-secret-one')).toBeUndefined();
  });

  it('reads a bearer credential and forgets heads after a few seconds', async () => {
    await (await fetch(`${url}/503`, { headers: { authorization: 'Bearer tok-abc' } })).text();
    expect(recentErrorHead(url, 503, 'tok-abc')?.['retry-after']).toBe('9');
    expect(recentErrorHead(url, 503, 'tok-abc', Date.now() + 6_000)).toBeUndefined();
  });

  it('keeps nothing of a successful response', async () => {
    await (await fetch(`${url}/200`, { headers: { 'x-api-key': 'sk-secret-ok' } })).text();
    expect(recentErrorHead(url, 200, 'sk-secret-ok')).toBeUndefined();
  });

  it('takes the origin of a base URL', () => {
    expect(originOf('https://api.anthropic.com/v1')).toBe('https://api.anthropic.com');
    expect(originOf('not a url')).toBeUndefined();
    expect(originOf(undefined)).toBeUndefined();
  });
});
