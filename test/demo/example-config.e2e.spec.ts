import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { freePort } from '../support/free-port.js';

const KEY = 'piapi-demo-user-key';


/** The README's quick-start examples, against config/piapi.example.yaml (its port moved off 9200). */
describe('the example config', () => {
  let gw: TestGateway;
  const call = async (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => {
    const res = await request(`${gw.url}${path}`, { method: (init.method ?? 'GET') as 'GET', headers: init.headers, body: init.body });
    return { status: res.statusCode, text: await res.body.text() };
  };

  beforeAll(async () => {
    const port = await freePort();
    const yaml = (await readFile('config/piapi.example.yaml', 'utf8')).replaceAll('127.0.0.1:9200', `127.0.0.1:${port}`);
    gw = await startTestGateway(yaml.replace('listen: ":9200"', `listen: "127.0.0.1:${port}"`), { listen: `127.0.0.1:${port}` });
  });
  afterAll(() => gw.stop());

  it('answers health and readiness', async () => {
    expect(await call('/healthz')).toEqual({ status: 200, text: '{"ok":true}' });
    expect((await call('/readyz')).status).toBe(200);
  });

  it('proxies to the built-in echo upstream with the provider key swapped in', async () => {
    const res = await call('/piapi/echo/v1/hello?x=1', { headers: { authorization: `Bearer ${KEY}` } });
    const echo = JSON.parse(res.text);
    expect(echo).toMatchObject({ method: 'GET', path: '/v1/hello', query: { x: '1' } });
    expect(echo.headers.authorization).toMatch(/^Bearer demo-pro…\(\d+ chars\)$/);
    expect(res.text).not.toContain(KEY);
  });

  it('streams SSE from the echo upstream', async () => {
    const res = await call('/piapi/echo/stream', { headers: { authorization: `Bearer ${KEY}`, accept: 'text/event-stream' } });
    expect(res.text).toContain('event: echo.done');
  });

  it('answers /v1/messages from the demo model, streamed and not', async () => {
    const body = { model: 'claude-haiku-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'hello' }] };
    const headers = { 'x-api-key': KEY, 'content-type': 'application/json' };
    const single = JSON.parse((await call('/v1/messages', { method: 'POST', headers, body: JSON.stringify(body) })).text);
    expect(single.content[0].text).toBe('piapi demo model heard: hello');
    expect(single.model).toBe('claude-haiku-4-5');
    const streamed = await call('/v1/messages?beta=true', { method: 'POST', headers, body: JSON.stringify({ ...body, stream: true }) });
    expect(streamed.text).toContain('event: message_stop');
    const count = JSON.parse((await call('/v1/messages/count_tokens', { method: 'POST', headers, body: JSON.stringify(body) })).text);
    expect(count.input_tokens).toBeGreaterThan(0);
    const models = JSON.parse((await call('/v1/models', { headers })).text);
    expect(models.data[0].id).toBe('claude-haiku-4-5');
  });

  it('answers the README error examples in JSON', async () => {
    expect((await call('/piapi/echo/x')).status).toBe(401);
    expect((await call('/piapi/nope/x', { headers: { 'x-api-key': KEY } })).status).toBe(404);
    // As curl sends it: undici would normalise the encoded dot segment away before sending.
    const raw = await new Promise<number>((resolve, reject) => {
      const r = httpRequest(`${gw.url}/`, { path: '/piapi/echo/%2e%2e/x', headers: { 'x-api-key': KEY } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      r.on('error', reject);
      r.end();
    });
    expect(raw).toBe(400);
  });
});
