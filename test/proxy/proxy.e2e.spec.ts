import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';

const ALICE = 'piapi-user-alice-0123456789';
const BOB = 'piapi-user-bob-0123456789abc';
const ALPHA_KEY = 'sk-alpha-main-secret-111111';
const BETA_KEY = 'sk-beta-prod-secret-2222222';

function configFor(upstream: string, http = ''): string {
  return `
${http}
providers:
  - name: provider-alpha
    apiKeys: { main-key: ${ALPHA_KEY} }
    services:
      - type: cc
        baseUrl: ${upstream}/v1/claude
        auth: { mode: header, name: x-api-key }
      - type: cx
        baseUrl: ${upstream}/v1/engines
  - name: provider-beta
    apiKeys: { prod-key: ${BETA_KEY} }
    services:
      - type: cx
        baseUrl: ${upstream}/codex
        auth: { mode: query, name: api_key }
users:
  - { name: Alice, apiKey: ${ALICE}, providerName: provider-alpha, providerKeyName: main-key }
  - { name: Bob, apiKey: ${BOB}, providerName: provider-beta, providerKeyName: prod-key }
`;
}

describe('pass-through proxy', () => {
  let upstream: RecordingUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    gw = await startTestGateway(configFor(upstream.url, 'http: { headersTimeoutMs: 400, idleTimeoutMs: 400, maxBodyBytes: 65536 }'));
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });
  beforeEach(() => {
    upstream.requests.length = 0;
    upstream.setHandler((req, res, body) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url, bytes: body.length }));
    });
  });

  it('forwards method, path, query and body bytes to <baseUrl>/<rest>', async () => {
    const body = '{"model":"a","model":"b","x":1}';
    const res = await request(`${gw.url}/piapi/cc/v1/messages?beta=true&x=%20y`, {
      method: 'POST',
      headers: { 'x-api-key': ALICE, 'content-type': 'application/json' },
      body,
    });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(upstream.requests).toHaveLength(1);
    const seen = upstream.requests[0];
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe('/v1/claude/v1/messages?beta=true&x=%20y');
    expect(seen.body.toString()).toBe(body);
  });

  it('passes gzip request bodies through untouched', async () => {
    const gz = gzipSync(Buffer.from(JSON.stringify({ hello: 'world'.repeat(100) })));
    await (
      await request(`${gw.url}/piapi/cc/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': ALICE, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gz,
      })
    ).body.text();
    expect(upstream.requests[0].body.equals(gz)).toBe(true);
    expect(upstream.requests[0].headers['content-encoding']).toBe('gzip');
  });

  it('streams a chunked request body of unknown length through', async () => {
    const parts = ['{"a":', '"streamed"', '}'];
    const res = await request(`${gw.url}/piapi/cx/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' },
      body: Readable.from(parts.map((p) => Buffer.from(p))),
    });
    await res.body.text();
    expect(upstream.requests[0].body.toString()).toBe(parts.join(''));
  });

  it('reads the upstream no faster than the client: a client that stops reading stops the upstream', async () => {
    const total = 64 * 1024 * 1024;
    const piece = Buffer.alloc(64 * 1024, 'x');
    let written = 0;
    upstream.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
      const pump = (): void => {
        while (written < total) {
          written += piece.length;
          if (!res.write(piece)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/piapi/cx/v1/big`, { headers: { authorization: `Bearer ${ALICE}` } }, resolve);
      req.once('error', reject);
      req.end();
    });
    expect(response.statusCode).toBe(200);
    response.pause();
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Socket buffers on both legs hold a few MB at most; a proxy that buffers would have taken all 64.
    expect(written).toBeLessThan(16 * 1024 * 1024);
    let received = 0;
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    response.resume();
    await new Promise((resolve) => response.once('end', resolve));
    expect(received).toBe(total);
  });

  it('injects the provider key in the configured header and strips the caller key', async () => {
    await (
      await request(`${gw.url}/piapi/cc/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': ALICE,
          'anthropic-version': '2023-06-01',
          'anthropic-beta': 'tools-2024',
          'user-agent': 'claude-cli/2.1',
          accept: 'text/event-stream',
          'content-type': 'application/json',
        },
        body: '{}',
      })
    ).body.text();
    const h = upstream.requests[0].headers;
    expect(h['x-api-key']).toBe(ALPHA_KEY);
    expect(h.authorization).toBeUndefined();
    expect(h['anthropic-version']).toBe('2023-06-01');
    expect(h['anthropic-beta']).toBe('tools-2024');
    expect(h['user-agent']).toBe('claude-cli/2.1');
    expect(h.accept).toBe('text/event-stream');
    expect(h['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends Authorization: Bearer <provider key> when the service has no auth block', async () => {
    await (
      await request(`${gw.url}/piapi/cx/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ALICE}`, 'openai-beta': 'responses=v1' },
        body: '{}',
      })
    ).body.text();
    const h = upstream.requests[0].headers;
    expect(h.authorization).toBe(`Bearer ${ALPHA_KEY}`);
    expect(h['openai-beta']).toBe('responses=v1');
  });

  it('puts the provider key in the query for query-mode auth, replacing a caller-supplied one', async () => {
    await (
      await request(`${gw.url}/piapi/cx/responses?api_key=forged&keep=1`, { headers: { authorization: `Bearer ${BOB}` } })
    ).body.text();
    const url = new URL(upstream.requests[0].url, 'http://x');
    expect(url.pathname).toBe('/codex/responses');
    expect(url.searchParams.getAll('api_key')).toEqual([BETA_KEY]);
    expect(url.searchParams.get('keep')).toBe('1');
    expect(upstream.requests[0].headers.authorization).toBeUndefined();
  });

  it('strips hop-by-hop headers and the headers named in Connection, both ways', async () => {
    upstream.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'x-up-private', 'x-up-private': '1', 'x-kept': 'yes' });
      res.end('ok');
    });
    const res = await new Promise<{ headers: Record<string, unknown> }>((resolve, reject) => {
      const r = httpRequest(`${gw.url}/piapi/cx/v1/x`, {
        method: 'GET',
        headers: { authorization: `Bearer ${ALICE}`, connection: 'keep-alive, x-private', 'x-private': 'secret', 'keep-alive': 'timeout=5', te: 'trailers', 'x-public': 'p' },
      });
      r.on('response', (resp) => {
        resp.resume();
        resp.on('end', () => resolve({ headers: resp.headers }));
      });
      r.on('error', reject);
      r.end();
    });
    const h = upstream.requests[0].headers;
    expect(h['x-private']).toBeUndefined();
    expect(h.te).toBeUndefined();
    expect(h['x-public']).toBe('p');
    expect(res.headers['x-up-private']).toBeUndefined();
    expect(res.headers['x-kept']).toBe('yes');
  });

  it('delivers SSE event by event: the client holds the first event before the second is written', async () => {
    let clientGotFirst!: () => void;
    const firstSeen = new Promise<void>((r) => (clientGotFirst = r));
    let secondWrittenAfterFirstSeen = false;
    upstream.setHandler(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: one\ndata: {"n":1}\n\n');
      await Promise.race([firstSeen, new Promise((r) => setTimeout(r, 5000))]);
      secondWrittenAfterFirstSeen = true;
      res.end('event: two\ndata: {"n":2}\n\n');
    });
    const res = await request(`${gw.url}/piapi/cx/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${ALICE}` }, body: '{}' });
    expect(res.headers['content-type']).toBe('text/event-stream');
    let text = '';
    let sawFirstBeforeSecond = false;
    for await (const chunk of res.body) {
      text += (chunk as Buffer).toString();
      if (!sawFirstBeforeSecond && text.includes('"n":1') && !secondWrittenAfterFirstSeen) {
        sawFirstBeforeSecond = true;
        clientGotFirst();
      }
    }
    expect(sawFirstBeforeSecond).toBe(true);
    expect(text).toContain('"n":2');
    expect(secondWrittenAfterFirstSeen).toBe(true);
  });

  it('answers 404 in JSON when the caller provider has no service of that type', async () => {
    const res = await request(`${gw.url}/piapi/cc/v1/messages`, { headers: { authorization: `Bearer ${BOB}` } });
    expect(res.statusCode).toBe(404);
    const body = (await res.body.json()) as { type: string; error: { type: string }; request_id: string };
    expect(body.error.type).toBe('not_found_error');
    expect(body.request_id).toBe(res.headers['x-request-id']);
    expect(upstream.requests).toHaveLength(0);
  });

  it.each([
    ['no key', {}],
    ['an unknown key', { 'x-api-key': 'piapi-user-nobody-000000' }],
    ['a key one byte off', { authorization: `Bearer ${ALICE.slice(0, -1)}X` }],
  ])('answers 401 in JSON for %s and sends nothing upstream', async (_name, headers) => {
    const res = await request(`${gw.url}/piapi/cx/v1/responses`, { method: 'POST', headers, body: '{}' });
    expect(res.statusCode).toBe(401);
    const body = (await res.body.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe('unauthenticated');
    expect(upstream.requests).toHaveLength(0);
  });

  it.each([
    '/piapi/cx/../admin',
    '/piapi/cx/v1/%2e%2e/%2e%2e/etc',
    '/piapi/cx/v1/%2E%2e/x',
    '/piapi/cx/v1/%252e%252e/x',
    '/piapi/cx/v1/.%2e/x',
    '/piapi/cx/v1/a%2fb',
    '/piapi/cx/v1/a%5cb',
    '/piapi/cx/v1/a%00b',
    '/piapi/cx//evil.example/x',
    '/piapi/cx/http://evil.example/x',
    '/piapi/cx/v1/%EF%BC%8E%EF%BC%8E/x',
  ])('refuses %s with 400 and sends nothing upstream', async (path) => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      // node:http sends the path exactly as written (fetch/undici would normalize dot segments).
      const r = httpRequest(`${gw.url}/`, { path, headers: { authorization: `Bearer ${ALICE}` } });
      r.on('response', (resp) => {
        let b = '';
        resp.on('data', (c: Buffer) => (b += c.toString()));
        resp.on('end', () => resolve({ status: resp.statusCode ?? 0, body: b }));
      });
      r.on('error', reject);
      r.end();
    });
    expect([400, 404]).toContain(res.status);
    expect(JSON.parse(res.body)).toHaveProperty('request_id');
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 504 in JSON when the upstream sends no headers within headersTimeoutMs', async () => {
    upstream.setHandler(() => undefined);
    const res = await request(`${gw.url}/piapi/cx/v1/slow`, { headers: { authorization: `Bearer ${ALICE}` } });
    expect(res.statusCode).toBe(504);
    const body = (await res.body.json()) as { error: { code: string }; request_id: string };
    expect(body.error.code).toBe('upstream_timeout');
    expect(body.request_id).toBe(res.headers['x-request-id']);
  });

  it('cuts a stream idle for idleTimeoutMs and ends it with an SSE error event', async () => {
    upstream.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: one\ndata: {}\n\n');
    });
    const res = await request(`${gw.url}/piapi/cx/v1/idle`, { headers: { authorization: `Bearer ${ALICE}` } });
    const text = await res.body.text();
    expect(text).toContain('event: one');
    expect(text).toMatch(/event: error\ndata: \{.*"timeout_error".*"request_id"/);
  });

  it('aborts the upstream request when the client disconnects', async () => {
    upstream.setHandler((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: one\ndata: {}\n\n');
      const t = setInterval(() => res.write(': ping\n\n'), 50);
      res.on('close', () => clearInterval(t));
    });
    const controller = new AbortController();
    const res = await request(`${gw.url}/piapi/cx/v1/stream`, { headers: { authorization: `Bearer ${ALICE}` }, signal: controller.signal });
    for await (const _chunk of res.body) {
      controller.abort();
      break;
    }
    await eventually(() => upstream.requests[0]?.closedEarly === true);
  });

  it('answers 413 for a declared body over maxBodyBytes without contacting the upstream', async () => {
    const res = await request(`${gw.url}/piapi/cx/v1/big`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(70_000, 1),
    });
    expect(res.statusCode).toBe(413);
    await res.body.text();
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 413 for a chunked body that grows past maxBodyBytes; the upstream never gets it whole', async () => {
    const res = await request(`${gw.url}/piapi/cx/v1/big`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ALICE}` },
      body: Readable.from(Array.from({ length: 20 }, () => Buffer.alloc(8192, 2))),
    });
    expect(res.statusCode).toBe(413);
    await res.body.text();
    expect(upstream.requests.every((r) => r.body.length < 20 * 8192)).toBe(true);
  });

  it('keeps a sane incoming X-Request-Id and replaces an unsafe one', async () => {
    const kept = await request(`${gw.url}/healthz`, { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(kept.headers['x-request-id']).toBe('trace-abc.123');
    await kept.body.text();
    const replaced = await request(`${gw.url}/healthz`, { headers: { 'x-request-id': 'bad id<script>' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    await replaced.body.text();
  });

  it('reuses keep-alive connections to the upstream', async () => {
    for (let i = 0; i < 5; i++) {
      await (await request(`${gw.url}/piapi/cx/v1/ka`, { headers: { authorization: `Bearer ${ALICE}` } })).body.text();
    }
    const ports = new Set(upstream.requests.map((r) => r.remotePort));
    expect(ports.size).toBe(1);
  });
});

describe('unreachable upstream', () => {
  it('answers 502 in JSON with the request id', async () => {
    const dead = await startRecordingUpstream();
    const url = dead.url;
    await dead.close();
    const gw = await startTestGateway(configFor(url));
    try {
      const res = await request(`${gw.url}/piapi/cc/v1/messages`, { method: 'POST', headers: { 'x-api-key': ALICE }, body: '{}' });
      expect(res.statusCode).toBe(502);
      const body = (await res.body.json()) as { type: string; error: { type: string }; request_id: string };
      expect(body).toMatchObject({ type: 'error', error: { type: 'api_error' } });
      expect(body.request_id).toBe(res.headers['x-request-id']);
    } finally {
      await gw.stop();
    }
  });
});
