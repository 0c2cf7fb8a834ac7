import Anthropic from '@anthropic-ai/sdk';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import { startChatCompletionsFake } from '../fakes/chat-completions.fake.js';
import { fakeCodexJwt } from '../fakes/fake-jwt.js';
import type { FakeScript } from '../fakes/fake-turn.js';
import { startOpenAIResponsesFake } from '../fakes/openai-responses.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { decodeToolId } from '../../src/messages/anthropic/tool-id-codec.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';

const USER_KEY = 'piapi-user-messages-0000001';

interface Target {
  name: string;
  api: string;
  provider: string;
  start: (script: FakeScript) => Promise<ProviderFake>;
  baseUrl: (fake: ProviderFake) => string;
  key: string;
  path: string;
}

const TARGETS: Target[] = [
  {
    name: 'openai-codex-responses',
    api: 'openai-codex-responses',
    provider: 'openai-codex',
    start: (s) => startOpenAIResponsesFake(s, { flavor: 'codex' }),
    baseUrl: (f) => f.url,
    key: fakeCodexJwt({ accountId: 'acc-e2e' }),
    path: '/codex/responses',
  },
  {
    name: 'openai-responses',
    api: 'openai-responses',
    provider: 'openai',
    start: (s) => startOpenAIResponsesFake(s),
    baseUrl: (f) => `${f.url}/v1`,
    key: 'sk-openai-e2e-secret-0001',
    path: '/v1/responses',
  },
  {
    name: 'openai-completions',
    api: 'openai-completions',
    provider: 'openai',
    start: (s) => startChatCompletionsFake(s),
    baseUrl: (f) => `${f.url}/v1`,
    key: 'sk-chat-e2e-secret-0002',
    path: '/v1/chat/completions',
  },
  {
    name: 'anthropic-messages',
    api: 'anthropic-messages',
    provider: 'anthropic',
    start: (s) => startAnthropicMessagesFake(s),
    baseUrl: (f) => f.url,
    key: 'fake-e2e-provider-key-0003',
    path: '/v1/messages',
  },
];

const TOOL = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

describe.each(TARGETS)('/v1/messages → $name', (target) => {
  let fake: ProviderFake;
  let gw: TestGateway;
  let client: Anthropic;

  beforeAll(async () => {
    fake = await target.start((req) => {
      const body = req.json<Record<string, unknown>>();
      const text = JSON.stringify(body);
      if (text.includes('tool-result-marker')) return { text: ['It is ', 'sunny.'], usage: { inputTokens: 30, outputTokens: 4 } };
      if (text.includes('weather')) return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] };
      return { text: ['Hello', ' from ', target.name], usage: { inputTokens: 12, outputTokens: 3 } };
    });
    gw = await startTestGateway(`
providers:
  - name: target
    apiKeys: { main: ${JSON.stringify(target.key)} }
    llm:
      provider: ${target.provider}
      api: ${target.api}
      baseUrl: ${target.baseUrl(fake)}
      defaultModel: test-model-default
models:
  claude-sonnet-4-5: test-model-mapped
users:
  - { name: tess, apiKey: ${USER_KEY}, providerName: target, providerKeyName: main }
`);
    client = new Anthropic({ apiKey: USER_KEY, baseURL: gw.url, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  it('streams a text answer the SDK parses, reporting the model the client asked for', async () => {
    const message = await client.messages
      .stream({ model: 'claude-sonnet-4-5-20250929', max_tokens: 256, messages: [{ role: 'user', content: 'say hi' }] })
      .finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: `Hello from ${target.name}`, citations: null }].map(({ type, text }) => expect.objectContaining({ type, text })));
    expect(message.model).toBe('claude-sonnet-4-5-20250929');
    expect(message.stop_reason).toBe('end_turn');
    const upstream = fake.requests.at(-1)!;
    expect(upstream.path).toBe(target.path);
    expect(JSON.stringify(upstream.json())).toContain('test-model-mapped');
    expect(JSON.stringify(upstream.headers)).not.toContain(USER_KEY);
  });

  it('answers a non-stream request with the same content as one message', async () => {
    const message = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role: 'user', content: 'say hi' }] });
    expect(message.type).toBe('message');
    expect(message.content.map((b) => (b.type === 'text' ? b.text : '')).join('')).toBe(`Hello from ${target.name}`);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  it('round-trips tool call ids through a two-turn tool loop', async () => {
    const first = await client.messages
      .stream({ model: 'claude-sonnet-4-5', max_tokens: 256, tools: [TOOL], messages: [{ role: 'user', content: 'weather in Paris?' }] })
      .finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    const toolUse = first.content.find((b) => b.type === 'tool_use');
    expect(toolUse).toBeDefined();
    if (toolUse?.type !== 'tool_use') return;
    expect(toolUse.id).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(toolUse.input).toEqual({ city: 'Paris' });
    const second = await client.messages
      .stream({
        model: 'claude-sonnet-4-5',
        max_tokens: 256,
        tools: [TOOL],
        messages: [
          { role: 'user', content: 'weather in Paris?' },
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: 'tool-result-marker: 21C' }] },
        ],
      })
      .finalMessage();
    expect(second.content.map((b) => (b.type === 'text' ? b.text : '')).join('')).toBe('It is sunny.');
    // The id the upstream issued came back to it intact, in its own form.
    const upstreamSecond = JSON.stringify(fake.requests.at(-1)!.json());
    const upstreamCallId = decodeToolId(toolUse.id).split('|')[0];
    expect(upstreamCallId).not.toBe('');
    expect(upstreamSecond).toContain(JSON.stringify(upstreamCallId));
    expect(upstreamSecond).toContain('tool-result-marker');
  });
});

describe('/v1/messages errors and side routes', () => {
  let fake: ProviderFake;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startOpenAIResponsesFake((req) => {
      const text = req.text();
      if (text.includes('please-429')) return { httpError: { status: 429, body: { error: { message: 'slow down', type: 'rate_limit' } }, headers: { 'retry-after': '1' } } };
      if (text.includes('please-400')) return { httpError: { status: 400, body: { error: { message: 'bad thing', type: 'invalid_request_error' } } } };
      if (text.includes('please-midstream')) return { text: ['partial'], streamError: { message: 'boom' } };
      return { text: ['ok'] };
    });
    gw = await startTestGateway(`
providers:
  - name: oai
    apiKeys: { main: sk-openai-errors-secret-0001 }
    llm: { provider: openai, api: openai-responses, baseUrl: ${fake.url}/v1, defaultModel: gpt-test }
  - name: plain
    apiKeys: { main: sk-plain-secret-000000000001 }
    services: [{ type: cx, baseUrl: ${fake.url} }]
models:
  claude-haiku-4-5: gpt-mini
users:
  - { name: ed, apiKey: ${USER_KEY}, providerName: oai, providerKeyName: main }
  - { name: pat, apiKey: piapi-user-plain-000000001, providerName: plain, providerKeyName: main }
`);
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await request(`${gw.url}${path}`, {
      method: 'POST',
      headers: { 'x-api-key': USER_KEY, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };

  it('answers an upstream 429 before the stream with HTTP 429 rate_limit_error', async () => {
    const res = await post('/v1/messages?beta=true', { model: 'x', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'please-429' }] });
    expect(res.status).toBe(429);
    expect(JSON.parse(res.text)).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    // Claude Code waits as told: the OpenAI SDK under pi-ai drops the header, error-response-heads.ts finds it again.
    expect(res.headers['retry-after']).toBe('1');
  }, 30_000);

  it('answers an upstream 400 with invalid_request_error and the upstream message', async () => {
    const res = await post('/v1/messages', { model: 'x', max_tokens: 10, messages: [{ role: 'user', content: 'please-400' }] });
    expect(res.status).toBe(400);
    const body = JSON.parse(res.text);
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('bad thing');
    expect(body.request_id).toBe(res.headers['x-request-id']);
  });

  it('ends a stream that fails mid-way with an SSE error event', async () => {
    const res = await post('/v1/messages', { model: 'x', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'please-midstream' }] });
    expect(res.status).toBe(200);
    expect(res.text).toContain('event: message_start');
    expect(res.text).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"\w+","message":/);
    expect(res.text).not.toContain('event: message_stop');
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['malformed JSON', '{"model":', 400],
    ['an empty body', '', 400],
    ['a wrong type', { model: 'x', max_tokens: 'ten', messages: [] }, 400],
    ['missing messages', { model: 'x', max_tokens: 10 }, 400],
  ])('answers %s with an Anthropic 4xx error naming the problem', async (_name, body, status) => {
    const res = await post('/v1/messages', body);
    expect(res.status).toBe(status);
    const parsed = JSON.parse(res.text);
    expect(parsed.type).toBe('error');
    expect(parsed.error.type).toBe('invalid_request_error');
    expect(parsed.error.message.length).toBeGreaterThan(5);
    expect(parsed.request_id).toBe(res.headers['x-request-id']);
  });

  it('answers a wrong content type with 415', async () => {
    const res = await post('/v1/messages', 'hello', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    expect(JSON.parse(res.text).type).toBe('error');
  });

  it('answers an unknown key with an Anthropic authentication_error', async () => {
    const res = await post('/v1/messages', { model: 'x', max_tokens: 1, messages: [] }, { 'x-api-key': 'piapi-nobody-0000000000' });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('answers 404 for a provider without an llm block', async () => {
    const res = await post('/v1/messages', { model: 'x', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }, { 'x-api-key': 'piapi-user-plain-000000001' });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text).error.type).toBe('not_found_error');
  });

  it('counts tokens with a real tokenizer', async () => {
    const res = await post('/v1/messages/count_tokens', { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hello world '.repeat(100) }] });
    expect(res.status).toBe(200);
    const { input_tokens } = JSON.parse(res.text);
    // o200k: "hello world " is 2 tokens; 100 repeats ≈ 200 plus overheads, far from chars/4 (300).
    expect(input_tokens).toBeGreaterThan(195);
    expect(input_tokens).toBeLessThan(230);
  });

  it('lists the model aliases and the provider models in Anthropic list format', async () => {
    const res = await request(`${gw.url}/v1/models`, { headers: { 'x-api-key': USER_KEY } });
    const body = (await res.body.json()) as { data: { id: string; type: string }[]; has_more: boolean; first_id: string; last_id: string };
    expect(res.statusCode).toBe(200);
    expect(body.data.map((m) => m.id)).toContain('claude-haiku-4-5');
    expect(body.data.length).toBeGreaterThan(1);
    expect(body.data.every((m) => m.type === 'model')).toBe(true);
    expect(body.has_more).toBe(false);
    expect(body.first_id).toBe(body.data[0].id);
    expect(body.last_id).toBe(body.data.at(-1)!.id);
  });
});
