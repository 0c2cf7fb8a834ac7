import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from './fake-upstream.js';
import { stallUntilClosed } from './connection-faults.js';

describe('startFakeUpstream', () => {
  let upstream: FakeUpstream | undefined;
  afterEach(() => upstream?.close());

  it('records method, url with query, headers and the exact body bytes', async () => {
    upstream = await startFakeUpstream((_req, res) => res.end('ok'));
    const body = gzipSync(Buffer.from('{"hello":"wörld"}'));
    const res = await fetch(`${upstream.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-test', 'content-encoding': 'gzip' },
      body,
    });
    expect(await res.text()).toBe('ok');
    const [recorded] = upstream.requests;
    expect(recorded).toMatchObject({ method: 'POST', url: '/v1/messages?beta=true', path: '/v1/messages' });
    expect(recorded.query.get('beta')).toBe('true');
    expect(recorded.headers['x-api-key']).toBe('sk-test');
    expect(recorded.body.equals(body)).toBe(true);
    expect(recorded.closedEarly).toBe(false);
  });

  it('answers 404 by default and takes a new handler with setHandler', async () => {
    upstream = await startFakeUpstream();
    expect((await fetch(`${upstream.url}/x`)).status).toBe(404);
    upstream.setHandler((_req, res) => res.end('now'));
    expect(await (await fetch(`${upstream.url}/x`)).text()).toBe('now');
  });

  it('marks a request closedEarly when the client aborts before the response ends', async () => {
    upstream = await startFakeUpstream((_req, res) => stallUntilClosed(res));
    const controller = new AbortController();
    const pending = fetch(`${upstream.url}/slow`, { method: 'POST', body: '{}', signal: controller.signal });
    const [recorded] = await upstream.waitForRequests(1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await recorded.closed;
    expect(recorded.closedEarly).toBe(true);
  });

  it('records a request whose client hangs up mid-body', async () => {
    upstream = await startFakeUpstream((_req, res) => res.end());
    const req = request(`${upstream.url}/upload`, { method: 'POST', headers: { 'content-length': '100' } });
    req.on('error', () => undefined);
    req.write('partial');
    await new Promise((resolve) => setTimeout(resolve, 50));
    req.destroy();
    const [recorded] = await upstream.waitForRequests(1);
    expect(recorded.text()).toBe('partial');
    expect(recorded.closedEarly).toBe(true);
  });

  it('refuses WebSocket upgrades with 426 and records them', async () => {
    upstream = await startFakeUpstream();
    const status = await new Promise<number | undefined>((resolve) => {
      const req = request(`${upstream!.url}/codex/responses`, {
        headers: { connection: 'Upgrade', upgrade: 'websocket' },
      });
      req.on('response', (res) => resolve(res.statusCode));
      req.on('error', () => resolve(undefined));
      req.end();
    });
    expect(status).toBe(426);
    expect(upstream.requests[0]).toMatchObject({ method: 'GET', path: '/codex/responses' });
  });
});
