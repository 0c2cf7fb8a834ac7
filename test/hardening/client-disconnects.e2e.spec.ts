import type { ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { sseStart, startFaultServer, type FaultExchange, type FaultServer } from './support/fault-server.js';

const PT_KEY = 'piapi-user-disconnect-pt-0001';
const MSG_KEYS = { hold: 'piapi-user-disconnect-hold-01', drip: 'piapi-user-disconnect-drip-01', stall: 'piapi-user-disconnect-stall-1' };

function anthropicFrame(event: Record<string, unknown>): string {
  return `event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`;
}

const MESSAGE_START = anthropicFrame({
  type: 'message_start',
  message: { id: 'msg_disconnect', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } },
});
const BLOCK_START = anthropicFrame({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
const delta = (text: string) => anthropicFrame({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } });

/** Writes `frame()` every 50 ms until the connection goes away. */
function drip(res: ServerResponse, first: string[], frame: () => string): void {
  sseStart(res, first);
  const timer = setInterval(() => res.write(frame()), 50);
  res.once('close', () => clearInterval(timer));
}

describe('client disconnects', () => {
  let upstream: FaultServer;
  let gw: TestGateway;
  let port: number;

  beforeAll(async () => {
    upstream = await startFaultServer({
      '/pt/hold': () => undefined,
      '/pt/drip': (_req, res) => drip(res, ['event: tick\ndata: {}\n\n'], () => 'event: tick\ndata: {}\n\n'),
      '/pt/stall': (_req, res) => sseStart(res, ['event: one\ndata: {}\n\n']),
      '/pt/upload': () => undefined,
      '/hold/v1/messages': () => undefined,
      '/drip/v1/messages': (_req, res) => drip(res, [MESSAGE_START, BLOCK_START, delta('first')], () => delta(' more')),
      '/stall/v1/messages': (_req, res) => sseStart(res, [MESSAGE_START, BLOCK_START, delta('then silence')]),
    });
    const llm = (route: string) => `{ provider: anthropic, api: anthropic-messages, baseUrl: "${upstream.url}/${route}", defaultModel: claude-sonnet-4-5 }`;
    gw = await startTestGateway(`
http: { headersTimeoutMs: 30000, idleTimeoutMs: 30000 }
providers:
  - name: pt
    apiKeys: { k: sk-disconnect-provider-secret1 }
    services: [{ type: cx, baseUrl: "${upstream.url}/pt" }]
  - { name: hold, apiKeys: { k: fake-disconnect-provider-key-hold }, llm: ${llm('hold')} }
  - { name: drip, apiKeys: { k: fake-disconnect-provider-key-drip }, llm: ${llm('drip')} }
  - { name: stall, apiKeys: { k: fake-disconnect-provider-key-stall }, llm: ${llm('stall')} }
users:
  - { name: pt, apiKey: ${PT_KEY}, providerName: pt, providerKeyName: k }
  - { name: hold, apiKey: ${MSG_KEYS.hold}, providerName: hold, providerKeyName: k }
  - { name: drip, apiKey: ${MSG_KEYS.drip}, providerName: drip, providerKeyName: k }
  - { name: stall, apiKey: ${MSG_KEYS.stall}, providerName: stall, providerKeyName: k }
`);
    port = Number(new URL(gw.url).port);
  });
  afterAll(async () => {
    await gw.stop();
    await upstream.close();
  });

  /** Waits for the upstream to see exchange number `index`, and returns it. */
  async function exchange(index: number): Promise<FaultExchange> {
    await eventually(() => upstream.exchanges.length > index, 5000);
    return upstream.exchanges[index];
  }

  /** Starts a request, waits until `ready` says so, then drops the connection. */
  async function abandon(path: string, init: { method?: 'GET' | 'POST'; headers: Record<string, string>; body?: string }, ready: 'upstream-seen' | 'first-chunk'): Promise<FaultExchange> {
    const index = upstream.exchanges.length;
    const controller = new AbortController();
    const pending = request(`${gw.url}${path}`, { ...init, signal: controller.signal });
    pending.catch(() => undefined);
    const seen = await exchange(index);
    if (ready === 'first-chunk') {
      const res = await pending;
      for await (const _chunk of res.body) break;
    }
    controller.abort();
    await pending.then((r) => r.body.dump()).catch(() => undefined);
    return seen;
  }

  const messagesInit = (key: string, stream: boolean) => ({
    method: 'POST' as const,
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, stream, messages: [{ role: 'user', content: 'hi' }] }),
  });

  describe('pass-through', () => {
    it('aborts the upstream request when the client leaves before the response headers', async () => {
      const seen = await abandon('/piapi/cx/hold', { headers: { 'x-api-key': PT_KEY } }, 'upstream-seen');
      await eventually(() => seen.closedEarly, 5000);
    });

    it('aborts the upstream request when the client leaves mid-stream', async () => {
      const seen = await abandon('/piapi/cx/drip', { headers: { 'x-api-key': PT_KEY } }, 'first-chunk');
      await eventually(() => seen.closedEarly, 5000);
    });

    it('aborts the upstream request when the client leaves while the upstream is stalled', async () => {
      const seen = await abandon('/piapi/cx/stall', { headers: { 'x-api-key': PT_KEY } }, 'first-chunk');
      await eventually(() => seen.closedEarly, 5000);
    });

    it('aborts the upstream request when the client leaves in the middle of its upload', async () => {
      const index = upstream.exchanges.length;
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(`POST /piapi/cx/upload HTTP/1.1\r\nHost: a\r\nx-api-key: ${PT_KEY}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n`);
      const seen = await exchange(index);
      socket.destroy();
      await eventually(() => seen.closedEarly, 5000);
    });
  });

  describe('/v1/messages', () => {
    it('aborts the upstream request when the client leaves before the response headers', async () => {
      const seen = await abandon('/v1/messages', messagesInit(MSG_KEYS.hold, true), 'upstream-seen');
      await eventually(() => seen.closedEarly, 5000);
    });

    it('aborts the upstream request when the client leaves mid-stream', async () => {
      const seen = await abandon('/v1/messages', messagesInit(MSG_KEYS.drip, true), 'first-chunk');
      await eventually(() => seen.closedEarly, 5000);
    });

    it('aborts the upstream request when the client leaves while the upstream is stalled', async () => {
      const seen = await abandon('/v1/messages', messagesInit(MSG_KEYS.stall, true), 'first-chunk');
      await eventually(() => seen.closedEarly, 5000);
    });

    it('aborts the upstream request when a non-stream client leaves while the answer is still coming', async () => {
      const seen = await abandon('/v1/messages', messagesInit(MSG_KEYS.drip, false), 'upstream-seen');
      await eventually(() => seen.closedEarly, 5000);
    });
  });

  it('holds no upstream connection afterwards and still serves', async () => {
    await eventually(() => upstream.unfinished() === 0, 5000);
    await eventually(async () => (await upstream.openConnections()) === 0, 5000);
    const health = await request(`${gw.url}/healthz`);
    expect(health.statusCode).toBe(200);
    await health.body.dump();
  });
});
