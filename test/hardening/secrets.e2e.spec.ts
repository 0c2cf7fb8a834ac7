import { createServer } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import type { FakeTurn } from '../fakes/fake-turn.js';
import type { RecordedRequest } from '../fakes/fake-upstream.js';
import { startOpenAIResponsesFake } from '../fakes/openai-responses.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.js';

/**
 * Provider keys deliberately shaped like no known credential format, so only exact handling (not
 * the pattern-based redactor) can keep them out of what clients, logs and metrics see.
 */
const PROVIDER = {
  header: 'zzhdr-provider-secret-value-9f3a1c',
  query: 'qqry-provider-secret-value-77b2e0',
  bearer: 'bbrr-provider-secret-value-5d8e4a',
  anthropic: 'aanth-provider-secret-value-3c6f1b',
  responses: 'ooai-provider-secret-value-11a9d7',
};
const USERS = {
  header: 'uk-hdr-user-secret-0000000000001',
  query: 'piapi-user-secrets-query-000002',
  bearer: 'uk-brr-user-secret-0000000000003',
  anthropic: 'uk-anth-user-secret-000000000004',
  responses: 'uk-oai-user-secret-0000000000005',
};
/** Keys a client put in the query string of its own request. */
const CALLER_QUERY_KEY = 'cq-caller-query-secret-0000000006';
const ALL = [...Object.values(PROVIDER), ...Object.values(USERS), CALLER_QUERY_KEY];

/** Every form a secret could leak in: as is, URL-encoded, base64, and its distinctive tail (a masked key shows it). */
function forms(secret: string): string[] {
  return [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64'), secret.slice(-12)];
}

interface Seen {
  what: string;
  status: number;
  headers: string;
  body: string;
}

const NO_RETRY = { 'x-should-retry': 'false' };

function anthropicScript(req: RecordedRequest): FakeTurn {
  const text = req.text();
  const got = String(req.headers['x-api-key'] ?? req.headers.authorization ?? '');
  // An upstream that echoes the credential it received, in an HTTP error and in a stream error.
  if (text.includes('echo-http')) return { httpError: { status: 401, message: `invalid x-api-key: ${got}`, headers: NO_RETRY } };
  if (text.includes('echo-stream')) return { text: ['partial'], streamError: { message: `key ${got} is over quota`, code: 'rate_limit_error' } };
  if (text.includes('overloaded')) return { httpError: { status: 529, message: 'Overloaded', headers: NO_RETRY } };
  return { text: ['Hello', ' there'], usage: { inputTokens: 12, outputTokens: 2 } };
}

function responsesScript(req: RecordedRequest): FakeTurn {
  const got = String(req.headers.authorization ?? '');
  if (req.text().includes('echo-http')) return { httpError: { status: 401, message: `Incorrect API key provided: ${got}`, headers: NO_RETRY } };
  return { text: ['Hi'], usage: { inputTokens: 7, outputTokens: 1 } };
}

describe('secrets never leak', () => {
  let upstream: RecordingUpstream;
  let anthropic: ProviderFake;
  let responses: ProviderFake;
  let gw: TestGateway;
  const seen: Seen[] = [];

  beforeAll(async () => {
    upstream = await startRecordingUpstream((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path.endsWith('/fail')) {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"upstream failed"}}');
      } else if (path.endsWith('/echo-auth')) {
        const got = String(req.headers['x-api-key'] ?? req.headers.authorization ?? '');
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `bad credential ${got}` } }));
      } else if (path.endsWith('/stream')) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end('event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":3}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true,"usage":{"input_tokens":1,"output_tokens":1}}');
      }
    });
    anthropic = await startAnthropicMessagesFake(anthropicScript);
    responses = await startOpenAIResponsesFake(responsesScript);
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadPort = (dead.address() as { port: number }).port;
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    gw = await startTestGateway(`
logging: { level: trace }
providers:
  - name: hdr
    apiKeys: { k: ${PROVIDER.header} }
    services:
      - { type: cc, baseUrl: "${upstream.url}/hdr", auth: { mode: header, name: x-api-key } }
      - { type: gone, baseUrl: "http://127.0.0.1:${deadPort}/x", auth: { mode: header, name: x-api-key } }
  - name: qry
    apiKeys: { k: ${PROVIDER.query} }
    services: [{ type: cx, baseUrl: "${upstream.url}/qry", auth: { mode: query, name: api_key } }]
  - name: brr
    apiKeys: { k: ${PROVIDER.bearer} }
    services: [{ type: cx, baseUrl: "${upstream.url}/brr" }]
  - name: anth
    apiKeys: { k: ${PROVIDER.anthropic} }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: "${anthropic.url}", defaultModel: claude-sonnet-4-5 }
  - name: oai
    apiKeys: { k: ${PROVIDER.responses} }
    llm: { provider: openai, api: openai-responses, baseUrl: "${responses.url}/v1", defaultModel: gpt-test }
users:
  - { name: hdr-user, apiKey: ${USERS.header}, providerName: hdr, providerKeyName: k }
  - { name: qry-user, apiKey: ${USERS.query}, providerName: qry, providerKeyName: k }
  - { name: brr-user, apiKey: ${USERS.bearer}, providerName: brr, providerKeyName: k }
  - { name: anth-user, apiKey: ${USERS.anthropic}, providerName: anth, providerKeyName: k }
  - { name: oai-user, apiKey: ${USERS.responses}, providerName: oai, providerKeyName: k }
`);
  });
  afterAll(async () => {
    await gw.stop();
    await Promise.all([upstream.close(), anthropic.close(), responses.close()]);
  });

  async function send(what: string, path: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}): Promise<Seen> {
    const res = await request(`${gw.url}${path}`, { ...init, headersTimeout: 15_000, bodyTimeout: 15_000 });
    let body: string;
    try {
      body = await res.body.text();
    } catch {
      body = '<cut>';
    }
    const record = { what, status: res.statusCode, headers: JSON.stringify(res.headers), body };
    seen.push(record);
    return record;
  }

  const messages = (what: string, user: string, content: string, stream: boolean, auth: 'x-api-key' | 'bearer' = 'x-api-key') =>
    send(what, '/v1/messages?beta=true', {
      method: 'POST',
      headers: { ...(auth === 'bearer' ? { authorization: `Bearer ${user}` } : { 'x-api-key': user }), 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 32, stream, messages: [{ role: 'user', content }] }),
    });

  it('runs the scenario set: pass-through header, query and bearer auth, /v1/messages stream and non-stream, errors', async () => {
    // Pass-through, each auth mode, success and failure.
    expect((await send('header auth', '/piapi/cc/v1/messages', { method: 'POST', headers: { 'x-api-key': USERS.header, 'content-type': 'application/json' }, body: '{"stream":true}' })).status).toBe(200);
    expect((await send('header auth stream', '/piapi/cc/stream', { headers: { 'x-api-key': USERS.header } })).status).toBe(200);
    expect((await send('query auth', `/piapi/cx/v1/responses?api_key=${CALLER_QUERY_KEY}&x=1`, { headers: { authorization: `Bearer ${USERS.query}` } })).status).toBe(200);
    expect((await send('query auth, caller key in query only', `/piapi/cx/v1/models?api_key=${CALLER_QUERY_KEY}`)).status).toBe(401);
    expect((await send('bearer auth', '/piapi/cx/v1/responses', { method: 'POST', headers: { authorization: `Bearer ${USERS.bearer}` }, body: '{}' })).status).toBe(200);
    expect((await send('upstream 500', '/piapi/cx/fail', { headers: { authorization: `Bearer ${USERS.bearer}` } })).status).toBe(500);
    expect((await send('upstream unreachable', '/piapi/gone/x', { headers: { 'x-api-key': USERS.header } })).status).toBe(502);
    expect((await send('unknown service', '/piapi/nope/x', { headers: { 'x-api-key': USERS.header } })).status).toBe(404);
    expect((await send('bad path', '/piapi/cc/v1/a%5cb', { headers: { 'x-api-key': USERS.header } })).status).toBe(400);
    expect((await send('key one byte off', '/piapi/cc/x', { headers: { 'x-api-key': `${USERS.header.slice(0, -1)}X` } })).status).toBe(401);
    expect((await send('two keys', '/piapi/cc/x', { headers: { 'x-api-key': USERS.header, authorization: `Bearer ${USERS.bearer}` } })).status).toBe(401);

    // /v1/messages on both wire formats, stream and not, success and failure.
    for (const stream of [true, false]) {
      expect((await messages(`anthropic ok stream=${stream}`, USERS.anthropic, 'hi', stream)).status).toBe(200);
      expect((await messages(`responses ok stream=${stream}`, USERS.responses, 'hi', stream, 'bearer')).status).toBe(200);
      expect((await messages(`anthropic 529 stream=${stream}`, USERS.anthropic, 'overloaded', stream)).status).toBe(529);
      expect((await messages(`anthropic echoes key in HTTP error stream=${stream}`, USERS.anthropic, 'echo-http', stream)).status).toBe(502);
      expect((await messages(`responses echoes key in HTTP error stream=${stream}`, USERS.responses, 'echo-http', stream)).status).toBe(502);
      await messages(`anthropic echoes key in stream error stream=${stream}`, USERS.anthropic, 'echo-stream', stream);
    }
    expect((await messages('invalid body', USERS.anthropic, 'x', true)).status).toBe(200);
    expect((await send('malformed JSON', '/v1/messages', { method: 'POST', headers: { 'x-api-key': USERS.anthropic }, body: '{"model":' })).status).toBe(400);
    expect((await send('count_tokens', '/v1/messages/count_tokens', { method: 'POST', headers: { 'x-api-key': USERS.anthropic, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }) })).status).toBe(200);
    expect((await send('models', '/v1/models', { headers: { 'x-api-key': USERS.responses } })).status).toBe(200);
    expect((await send('messages without llm', '/v1/messages', { method: 'POST', headers: { 'x-api-key': USERS.header, 'content-type': 'application/json' }, body: JSON.stringify({ max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }) })).status).toBe(404);

    // The upstreams really got the keys: what follows proves they went no further.
    expect(upstream.requests.some((r) => r.headers['x-api-key'] === PROVIDER.header)).toBe(true);
    expect(upstream.requests.some((r) => r.url.includes(`api_key=${PROVIDER.query}`))).toBe(true);
    expect(anthropic.requests.some((r) => r.headers['x-api-key'] === PROVIDER.anthropic)).toBe(true);
    expect(seen.length).toBeGreaterThan(25);
  });

  it('no response body or header a client received holds any secret', () => {
    for (const { what, body, headers } of seen) {
      for (const secret of ALL) {
        for (const form of forms(secret)) {
          // The caller's own key may come back in its own validation error; none of these do.
          expect(body.includes(form), `${what}: body holds ${secret}`).toBe(false);
          expect(headers.includes(form), `${what}: headers hold ${secret}`).toBe(false);
        }
      }
    }
  });

  it('the log holds no secret, even at trace level', async () => {
    await eventually(() => gw.logs.lines.length > 20);
    for (const secret of ALL) for (const form of forms(secret)) expect(gw.logs.text.includes(form), secret).toBe(false);
  });

  it('/metrics holds no secret', async () => {
    const res = await request(`${gw.url}/metrics`);
    const text = await res.body.text();
    expect(text).toContain('piapi_requests_total');
    for (const secret of ALL) for (const form of forms(secret)) expect(text.includes(form), secret).toBe(false);
  });

  it('upstream errors echoing the provider key reach /v1/messages clients with the key masked', () => {
    const echoed = seen.filter((s) => s.what.includes('echoes key'));
    expect(echoed).toHaveLength(6);
    for (const s of echoed) expect(s.body, s.what).toContain('[REDACTED]');
  });

  it('relays a pass-through upstream error body as is: bodies are opaque, so an upstream that echoes credentials is not masked (documented)', async () => {
    const res = await request(`${gw.url}/piapi/cc/echo-auth`, { headers: { 'x-api-key': USERS.header } });
    const body = await res.body.text();
    expect(res.statusCode).toBe(401);
    // Documented behaviour (README, "Pass-through proxy"): byte-for-byte relay, no scrubbing.
    expect(body).toBe(JSON.stringify({ error: { message: `bad credential ${PROVIDER.header}` } }));
    // Still nothing in the log or in the gateway's own headers.
    expect(JSON.stringify(res.headers)).not.toContain(PROVIDER.header);
    expect(gw.logs.text).not.toContain(PROVIDER.header);
  });
});
