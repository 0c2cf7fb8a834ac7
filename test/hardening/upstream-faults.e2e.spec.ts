import type { ServerResponse } from 'node:http';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import type { FakeTurn } from '../fakes/fake-turn.js';
import { startOpenAIResponsesFake } from '../fakes/openai-responses.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { checkAnthropicStream } from '../fixtures/messages/anthropic-stream-checker.js';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { expectAnthropicError } from './support/anthropic-client.js';
import { cutByServer, resetAfterFlush, sseStart, startFaultServer, tcpHandles, type FaultServer } from './support/fault-server.js';
import { anthropicEvents, parseSse } from './support/sse.js';
import { freePort } from '../support/free-port.js';

const USERS = {
  pt: 'piapi-user-faults-passthru-01',
  anth: 'piapi-user-faults-anthropic-1',
  oai: 'piapi-user-faults-responses-1',
  raw: 'piapi-user-faults-rawupstr-01',
  dead: 'piapi-user-faults-deadupstr-1',
};
const HEADERS_TIMEOUT_MS = 600;
const IDLE_TIMEOUT_MS = 600;
/** Asks the SDKs inside pi-ai not to retry, so an upstream error reaches the client at once. */
const NO_RETRY = { 'x-should-retry': 'false' };

const SSE_FRAMES = ['event: a\ndata: {"n":1}\n\n', 'event: b\ndata: {"n":2}\n\n'];

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The response body broke off (connection cut), as opposed to ending. */
  cut: boolean;
}

async function call(url: string, init: { method?: 'GET' | 'POST'; headers: Record<string, string>; body?: string }): Promise<Reply> {
  const res = await request(url, { ...init, headersTimeout: 15_000, bodyTimeout: 15_000, signal: AbortSignal.timeout(20_000) });
  let text = '';
  let cut = false;
  try {
    for await (const chunk of res.body) text += (chunk as Buffer).toString();
  } catch {
    cut = true;
  }
  return { status: res.statusCode, headers: res.headers, text, cut };
}

/** What a client can always rely on: an HTTP JSON error, or a 200 SSE stream that is well formed and ends in `error`. */
function expectWellFormedMessagesFailure(reply: Reply, stream: boolean): void {
  expect(reply.cut, reply.text).toBe(false);
  if (reply.status !== 200) {
    expectAnthropicError({ status: reply.status, headers: reply.headers, text: reply.text });
    expect(reply.status).toBeGreaterThanOrEqual(400);
    return;
  }
  expect(stream, `a non-stream request answered 200 to a failed upstream: ${reply.text}`).toBe(true);
  const events = anthropicEvents(reply.text);
  expect(checkAnthropicStream(events), reply.text).toEqual([]);
  expect(events.at(-1)?.type, reply.text).toBe('error');
}

describe('upstream faults', () => {
  let faults: FaultServer;
  let anth: ProviderFake;
  let oai: ProviderFake;
  let gw: TestGateway;
  let baselineHandles = 0;
  let injected = 0;

  beforeAll(async () => {
    faults = await startFaultServer({
      // Pass-through faults.
      '/pt/refuse-reset': (_req, res) => {
        cutByServer(res);
        res.socket?.resetAndDestroy();
      },
      '/pt/reset-mid-sse': (_req, res) => {
        sseStart(res, SSE_FRAMES);
        resetAfterFlush(res);
      },
      '/pt/reset-mid-json': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"partial":');
        resetAfterFlush(res);
      },
      '/pt/stall-before-headers': () => undefined,
      '/pt/stall-mid-sse': (_req, res) => sseStart(res, SSE_FRAMES),
      '/pt/invalid-sse': (_req, res) => {
        sseStart(res, ['data: {not json\n\n', 'event: \u0000\n\n', 'retry: x\nid: \n\n', '\r\r\n:::\n\n']);
        res.end('data: [DONE]\n\n');
      },
      '/pt/close-without-end': (_req, res) => {
        sseStart(res, SSE_FRAMES);
        cutByServer(res);
        setTimeout(() => res.socket?.end(), 30);
      },
      '/pt/end-without-completion': (_req, res) => {
        sseStart(res, ['event: response.created\ndata: {"type":"response.created"}\n\n']);
        res.end();
      },
      '/pt/status': (req, res) => {
        const [, , , code, withBody] = (req.url ?? '').split('?')[0].split('/');
        if (withBody === 'body') {
          res.writeHead(Number(code), { 'content-type': 'application/json' }).end(`{"error":{"message":"upstream ${code}"}}`);
        } else res.writeHead(Number(code), { 'content-length': '0' }).end();
      },
      // /v1/messages upstream faults the provider fakes cannot script, chosen by the marker in the prompt.
      '/raw/v1/messages': (_req, res, body) => rawMessagesFault(res, /fault:([\w-]+)/.exec(body)?.[1] ?? ''),
    });
    anth = await startAnthropicMessagesFake((req) => anthropicFault(req.text()));
    oai = await startOpenAIResponsesFake((req) => responsesFault(req.text()));
    const dead = await freePort();
    gw = await startTestGateway(`
http: { headersTimeoutMs: ${HEADERS_TIMEOUT_MS}, idleTimeoutMs: ${IDLE_TIMEOUT_MS}, connectTimeoutMs: 1000 }
providers:
  - name: pt
    apiKeys: { k: sk-faults-passthrough-secret-1 }
    services:
      - { type: cx, baseUrl: "${faults.url}/pt" }
      - { type: dead, baseUrl: "http://127.0.0.1:${dead}/x" }
  - name: anth
    apiKeys: { k: fake-faults-provider-key-0001 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: "${anth.url}", defaultModel: claude-sonnet-4-5 }
  - name: oai
    apiKeys: { k: sk-oai-faults-secret-00000001 }
    llm: { provider: openai, api: openai-responses, baseUrl: "${oai.url}/v1", defaultModel: gpt-test }
  - name: raw
    apiKeys: { k: sk-raw-faults-secret-00000001 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: "${faults.url}/raw", defaultModel: claude-sonnet-4-5 }
  - name: dead
    apiKeys: { k: sk-dead-faults-secret-0000001 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: "http://127.0.0.1:${dead}", defaultModel: claude-sonnet-4-5 }
users:
  - { name: pt, apiKey: ${USERS.pt}, providerName: pt, providerKeyName: k }
  - { name: anth, apiKey: ${USERS.anth}, providerName: anth, providerKeyName: k }
  - { name: oai, apiKey: ${USERS.oai}, providerName: oai, providerKeyName: k }
  - { name: raw, apiKey: ${USERS.raw}, providerName: raw, providerKeyName: k }
  - { name: dead, apiKey: ${USERS.dead}, providerName: dead, providerKeyName: k }
`);
    // Warm both paths up so pools exist before the baseline is taken.
    await call(`${gw.url}/piapi/cx/status/200/body`, { headers: { 'x-api-key': USERS.pt } });
    await postMessages(USERS.anth, 'ok', false);
    await eventually(async () => (await faults.openConnections()) === 0, 5000);
    baselineHandles = tcpHandles();
  });
  afterAll(async () => {
    await gw.stop();
    await Promise.all([faults.close(), anth.close(), oai.close()]);
  });

  function postMessages(user: string, marker: string, stream: boolean): Promise<Reply> {
    injected++;
    return call(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': user, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, stream, messages: [{ role: 'user', content: `fault:${marker}` }] }),
    });
  }

  function passThrough(path: string, service = 'cx'): Promise<Reply> {
    injected++;
    return call(`${gw.url}/piapi/${service}${path}`, { headers: { authorization: `Bearer ${USERS.pt}`, accept: 'text/event-stream' } });
  }

  describe('pass-through', () => {
    it('answers 502 in JSON when the upstream refuses the connection', async () => {
      const reply = await passThrough('/anything', 'dead');
      expect(reply.status).toBe(502);
      expect(JSON.parse(reply.text)).toMatchObject({ error: { code: 'upstream_unreachable' }, request_id: reply.headers['x-request-id'] });
    });

    it('answers 502 in JSON when the upstream resets before answering', async () => {
      const reply = await passThrough('/refuse-reset');
      expect(reply.status).toBe(502);
      expect(JSON.parse(reply.text)).toHaveProperty('request_id', reply.headers['x-request-id']);
    });

    it('ends an SSE stream reset mid-way with an SSE error event', async () => {
      const reply = await passThrough('/reset-mid-sse');
      expect(reply.status).toBe(200);
      expect(reply.cut).toBe(false);
      const frames = parseSse(reply.text);
      expect(frames.map((f) => f.event)).toEqual(['a', 'b', 'error']);
      expect(JSON.parse(frames[2].data)).toMatchObject({ type: 'error', error: { type: 'api_error' }, request_id: reply.headers['x-request-id'] });
    });

    it('cuts a JSON body reset mid-way rather than ending it short', async () => {
      const reply = await passThrough('/reset-mid-json');
      expect(reply.status).toBe(200);
      expect(reply.cut).toBe(true);
    });

    it('answers 504 in JSON when the upstream stalls before headers', async () => {
      const reply = await passThrough('/stall-before-headers');
      expect(reply.status).toBe(504);
      expect(JSON.parse(reply.text)).toMatchObject({ error: { code: 'upstream_timeout' } });
    });

    it('ends an SSE stream that stalls mid-way with a timeout_error event', async () => {
      const reply = await passThrough('/stall-mid-sse');
      const frames = parseSse(reply.text);
      expect(frames.map((f) => f.event)).toEqual(['a', 'b', 'error']);
      expect(JSON.parse(frames[2].data)).toMatchObject({ error: { type: 'timeout_error' } });
    });

    it('relays invalid SSE byte for byte (pass-through never parses) and stays healthy', async () => {
      const reply = await passThrough('/invalid-sse');
      expect(reply.status).toBe(200);
      expect(reply.text).toBe('data: {not json\n\nevent: \u0000\n\nretry: x\nid: \n\n\r\r\n:::\n\ndata: [DONE]\n\n');
    });

    it('ends an SSE stream whose upstream closes without finishing the body with an SSE error event', async () => {
      const reply = await passThrough('/close-without-end');
      expect(reply.cut).toBe(false);
      expect(parseSse(reply.text).map((f) => f.event)).toEqual(['a', 'b', 'error']);
    });

    it('relays a cleanly ended SSE stream that lacks its final event as is (the protocol is the client’s)', async () => {
      const reply = await passThrough('/end-without-completion');
      expect(reply.status).toBe(200);
      expect(parseSse(reply.text).map((f) => f.event)).toEqual(['response.created']);
    });

    it.each([
      [429, 'body'],
      [429, 'empty'],
      [500, 'body'],
      [500, 'empty'],
      [529, 'body'],
      [529, 'empty'],
    ])('relays an upstream %i with %s body as is, with our request id', async (code, body) => {
      const reply = await passThrough(`/status/${code}/${body}`);
      expect(reply.status).toBe(code);
      expect(reply.headers['x-request-id']).toEqual(expect.any(String));
      expect(reply.text).toBe(body === 'body' ? `{"error":{"message":"upstream ${code}"}}` : '');
    });
  });

  describe('/v1/messages', () => {
    const scripted = [
      'reset',
      'close',
      'end-early',
      'stall-before-headers',
      'stall',
      'stream-error',
      'http-429',
      'http-500',
      'http-529-retried',
      'http-400',
    ];
    for (const stream of [true, false]) {
      it.each(scripted)(`anthropic upstream, ${stream ? 'stream' : 'non-stream'}: %s gives a well-formed error`, async (marker) => {
        expectWellFormedMessagesFailure(await postMessages(USERS.anth, marker, stream), stream);
      });

      it.each(['reset', 'end-early', 'http-500', 'stream-error'])(
        `responses upstream, ${stream ? 'stream' : 'non-stream'}: %s gives a well-formed error`,
        async (marker) => {
          expectWellFormedMessagesFailure(await postMessages(USERS.oai, marker, stream), stream);
        },
      );

      it.each(['invalid-sse', 'binary', 'html', '429', '500', '529'])(
        `raw upstream, ${stream ? 'stream' : 'non-stream'}: %s gives a well-formed error`,
        async (route) => {
          const reply = await postMessages(USERS.raw, route, stream);
          expectWellFormedMessagesFailure(reply, stream);
          if (/^\d+$/.test(route)) expect(reply.status).toBe(route === '500' ? 502 : Number(route));
        },
      );
    }

    it('answers a refused upstream connection with a JSON 502 (or 504 once the SDK retries outlast headersTimeoutMs)', async () => {
      const reply = await postMessages(USERS.dead, 'x', true);
      const error = expectAnthropicError({ status: reply.status, headers: reply.headers, text: reply.text });
      expect([502, 504]).toContain(reply.status);
      expect(['api_error', 'timeout_error']).toContain(error.error.type);
    });

    it('keeps a complete message complete when only message_stop is missing', async () => {
      const reply = await postMessages(USERS.anth, 'no-message-stop', true);
      expect(reply.status).toBe(200);
      const events = anthropicEvents(reply.text);
      expect(checkAnthropicStream(events), reply.text).toEqual([]);
    });
  });

  it('released every upstream connection and leaked no socket handles', async () => {
    await eventually(() => faults.unfinished() === 0, 5000);
    for (const fake of [anth, oai]) await Promise.all(fake.requests.map((r) => r.closed));
    await eventually(async () => (await faults.openConnections()) === 0, 5000);
    // Idle keep-alive sockets to the provider fakes may stay (both ends are in this process).
    await eventually(() => tcpHandles() <= baselineHandles + 8, 8000);
    expect(injected).toBeGreaterThan(50);
  });
});

function rawMessagesFault(res: ServerResponse, marker: string): void {
  switch (marker) {
    case 'invalid-sse':
      sseStart(res, ['event: message_start\ndata: {not json at all\n\n']);
      res.end();
      return;
    case 'binary':
      sseStart(res);
      res.end(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x0a, 0x0a, 0x9c]));
      return;
    case 'html':
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>a gateway in front of the gateway</html>');
      return;
    default:
      res.writeHead(Number(marker) || 500, { ...NO_RETRY, 'content-length': '0' }).end();
  }
}

function anthropicFault(text: string): FakeTurn {
  const marker = /fault:([\w-]+)/.exec(text)?.[1] ?? 'ok';
  const body = ['one ', 'two ', 'three'];
  switch (marker) {
    case 'reset':
      return { text: body, fault: { kind: 'reset', afterEvents: 4 } };
    case 'close':
      return { text: body, fault: { kind: 'close', afterEvents: 4 } };
    case 'end-early':
      return { text: body, fault: { kind: 'end', afterEvents: 4 } };
    case 'no-message-stop':
      // message_start, ping, block start, 3 deltas, block stop, message_delta: then a clean end.
      return { text: body, fault: { kind: 'end', afterEvents: 8 } };
    case 'stall-before-headers':
      return { text: body, fault: { kind: 'stall-before-headers' } };
    case 'stall':
      return { text: body, fault: { kind: 'stall', afterEvents: 4 } };
    case 'stream-error':
      return { text: body, streamError: { message: 'Overloaded', code: 'overloaded_error' } };
    case 'http-429':
      return { httpError: { status: 429, message: 'slow down', headers: NO_RETRY } };
    case 'http-500':
      return { httpError: { status: 500, message: 'upstream exploded', headers: NO_RETRY } };
    case 'http-529-retried':
      return { httpError: { status: 529, message: 'Overloaded', headers: { 'retry-after-ms': '1' } } };
    case 'http-400':
      return { httpError: { status: 400, message: 'max_tokens: too large' } };
    default:
      return { text: ['ok'] };
  }
}

function responsesFault(text: string): FakeTurn {
  const marker = /fault:([\w-]+)/.exec(text)?.[1] ?? 'ok';
  const body = ['one ', 'two ', 'three'];
  switch (marker) {
    case 'reset':
      return { text: body, fault: { kind: 'reset', afterEvents: 5 } };
    case 'end-early':
      // Everything but response.completed.
      return { text: body, fault: { kind: 'end', afterEvents: 9 } };
    case 'http-500':
      return { httpError: { status: 500, message: 'upstream exploded', headers: NO_RETRY } };
    case 'stream-error':
      return { text: body, streamError: { message: 'The server had an error' } };
    default:
      return { text: ['ok'] };
  }
}
