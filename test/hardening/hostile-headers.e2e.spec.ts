import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';
import { rawExchange as exchangeRaw } from './support/raw-http.js';

const KEY = 'piapi-user-hostile-00000001';
const OTHER = 'piapi-user-hostile-00000002';
const PROVIDER_KEY = 'sk-hostile-provider-secret-01';

/** The raw response text (what a smuggling attempt sees on the wire). */
async function rawExchange(port: number, bytes: string): Promise<string> {
  return (await exchangeRaw(port, bytes)).raw;
}

describe('hostile headers', () => {
  let upstream: RecordingUpstream;
  let gw: TestGateway;
  let port: number;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    gw = await startTestGateway(`
providers:
  - name: p
    apiKeys: { k: ${PROVIDER_KEY} }
    services: [{ type: cx, baseUrl: ${upstream.url}/base }]
  - name: q
    apiKeys: { k: sk-other-provider-secret-02 }
    services: [{ type: cc, baseUrl: ${upstream.url}/other }]
users:
  - { name: u1, apiKey: ${KEY}, providerName: p, providerKeyName: k }
  - { name: u2, apiKey: ${OTHER}, providerName: q, providerKeyName: k }
`);
    port = Number(new URL(gw.url).port);
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });
  beforeEach(() => {
    upstream.requests.length = 0;
    upstream.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });

  it('refuses two different caller keys in one request', async () => {
    const res = await request(`${gw.url}/piapi/cx/x`, { headers: { 'x-api-key': KEY, authorization: `Bearer ${OTHER}` } });
    expect(res.statusCode).toBe(401);
    await res.body.text();
    expect(upstream.requests).toHaveLength(0);
  });

  it('refuses a repeated x-api-key header', async () => {
    const out = await rawExchange(port, `GET /piapi/cx/x HTTP/1.1\r\nHost: a\r\nx-api-key: ${KEY}\r\nx-api-key: ${KEY}\r\nConnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 401/);
    expect(upstream.requests).toHaveLength(0);
  });

  it("does not let a user's key reach another provider's service", async () => {
    const res = await request(`${gw.url}/piapi/cc/x`, { headers: { 'x-api-key': KEY } });
    expect(res.statusCode).toBe(404);
    await res.body.text();
    expect(upstream.requests).toHaveLength(0);
  });

  it('never forwards a spoofed Host or X-Forwarded-* header', async () => {
    const out = await rawExchange(
      port,
      `GET /piapi/cx/x HTTP/1.1\r\nHost: evil.example\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-For: 10.0.0.1\r\nForwarded: for=10.0.0.1\r\nx-api-key: ${KEY}\r\nConnection: close\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    const seen = upstream.requests[0];
    expect(seen.headers.host).toBe(new URL(upstream.url).host);
    expect(seen.headers['x-forwarded-host']).toBeUndefined();
    expect(seen.headers['x-forwarded-for']).toBeUndefined();
    expect(seen.headers.forwarded).toBeUndefined();
  });

  it('rejects a Transfer-Encoding + Content-Length smuggling pair with a 400 and sends nothing upstream', async () => {
    const out = await rawExchange(
      port,
      `POST /piapi/cx/x HTTP/1.1\r\nHost: a\r\nx-api-key: ${KEY}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /piapi/cx/smuggled HTTP/1.1\r\nHost: a\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(out).toContain('"request_id"');
    expect(upstream.requests.map((r) => r.url)).not.toContain('/base/smuggled');
  });

  it('rejects a CR/LF injected into a header value', async () => {
    const out = await rawExchange(port, `GET /piapi/cx/x HTTP/1.1\r\nHost: a\r\nx-api-key: ${KEY}\rX-Injected: 1\r\nConnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 431 in JSON to oversized headers', async () => {
    const out = await rawExchange(port, `GET /piapi/cx/x HTTP/1.1\r\nHost: a\r\nx-api-key: ${KEY}\r\nx-big: ${'a'.repeat(40_000)}\r\nConnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 431/);
    expect(out).toContain('"request_id"');
    expect(upstream.requests).toHaveLength(0);
  });

  it('handles Expect: 100-continue without forwarding the Expect header', async () => {
    const out = await rawExchange(
      port,
      `POST /piapi/cx/x HTTP/1.1\r\nHost: a\r\nx-api-key: ${KEY}\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhello`,
    );
    expect(out).toMatch(/HTTP\/1\.1 200/);
    expect(upstream.requests[0].body.toString()).toBe('hello');
    expect(upstream.requests[0].headers.expect).toBeUndefined();
  });

  it('never echoes the provider key in an error body', async () => {
    upstream.setHandler((req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'bad key', got: 'redacted' }));
    });
    const res = await request(`${gw.url}/piapi/cx/x`, { headers: { 'x-api-key': KEY } });
    const text = await res.body.text();
    expect(res.statusCode).toBe(401);
    expect(text).not.toContain(PROVIDER_KEY);
    expect(text).not.toContain(KEY);
  });

  it('rejects a NUL byte in a header value with a 400 and sends nothing upstream', async () => {
    const out = await rawExchange(port, `GET /piapi/cx/x HTTP/1.1\r\nHost: a\r\nx-api-key: ${KEY}\r\nx-note: a\u0000b\r\nConnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(out).toContain('"request_id"');
    expect(upstream.requests).toHaveLength(0);
  });

  it('never lets an obs-folded header reach the upstream with a line break, nor authenticate a folded key', async () => {
    const folded = await rawExchange(port, `GET /piapi/cx/x HTTP/1.1\r\nHost: a\r\nx-api-key: ${KEY}\r\nx-note: first\r\n second\r\nConnection: close\r\n\r\n`);
    expect(folded).toMatch(/^HTTP\/1\.1 (200|400)/);
    for (const seen of upstream.requests) expect(JSON.stringify(seen.headers)).not.toMatch(/\\r|\\n/);
    const foldedKey = await rawExchange(port, `GET /piapi/cx/x HTTP/1.1\r\nHost: a\r\nx-api-key: ${KEY.slice(0, 10)}\r\n ${KEY.slice(10)}\r\nConnection: close\r\n\r\n`);
    expect(foldedKey).toMatch(/^HTTP\/1\.1 (400|401)/);
  });

  it('keeps injecting the provider key when the caller lists auth headers in Connection', async () => {
    const out = await rawExchange(
      port,
      `GET /piapi/cx/x HTTP/1.1\r\nHost: a\r\nx-api-key: ${KEY}\r\nConnection: close, authorization, x-api-key, x-request-id\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 200/);
    expect(upstream.requests[0].headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(upstream.requests[0].headers['x-request-id']).toEqual(expect.any(String));
  });

  it('rejects two different Content-Length values with a 400', async () => {
    const out = await rawExchange(port, `POST /piapi/cx/x HTTP/1.1\r\nHost: a\r\nx-api-key: ${KEY}\r\nContent-Length: 1\r\nContent-Length: 5\r\n\r\nhello`);
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(upstream.requests).toHaveLength(0);
  });

  it('rejects an obfuscated Transfer-Encoding with a 400', async () => {
    const out = await rawExchange(port, `POST /piapi/cx/x HTTP/1.1\r\nHost: a\r\nx-api-key: ${KEY}\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 400/);
    expect(upstream.requests).toHaveLength(0);
  });

  it('forwards a header value with bytes above 0x7f without failing the request', async () => {
    const out = await rawExchange(port, `GET /piapi/cx/x HTTP/1.1\r\nHost: a\r\nx-api-key: ${KEY}\r\nx-note: caf\u00e9\r\nConnection: close\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 (200|400)/);
  });
});
