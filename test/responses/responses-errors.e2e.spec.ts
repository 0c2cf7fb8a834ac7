import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import { fakeSignature } from '../fakes/anthropic-messages.events.js';
import type { FakeTurn } from '../fakes/fake-turn.js';
import { createGate } from '../fakes/gate.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { fakeCodexJwt } from '../fakes/fake-jwt.js';
import { startOpenAIResponsesFake } from '../fakes/openai-responses.fake.js';
import { decodeReasoning, encodeReasoning } from '../../src/responses/reasoning-codec.js';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';

const USER_KEY = 'piapi-user-responses-errs1';
const gate = createGate();

function turnFor(text: string): FakeTurn {
  if (text.includes('please-think')) return { reasoning: ['Let me ', 'think.'], text: ['Thought it through.'] };
  if (text.includes('please-429')) return { httpError: { status: 429, message: 'slow down', headers: { 'retry-after': '7' } } };
  if (text.includes('please-500')) return { httpError: { status: 500, message: 'upstream broke' } };
  if (text.includes('please-midstream')) return { text: ['partial'], streamError: { message: 'overloaded right now' } };
  if (text.includes('please-cut')) return { text: ['half', ' an', ' answer'], fault: { kind: 'end', afterEvents: 4 } };
  if (text.includes('please-hang')) return { text: ['first', ' second'], pace: { beforeEvent: (i) => (i >= 4 ? gate.promise : undefined) } };
  return { text: ['ok'] };
}

describe('/v1/responses on an Anthropic upstream: thinking, errors, aborts', () => {
  let fake: ProviderFake;
  let gw: TestGateway;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await startAnthropicMessagesFake((req) => {
      const body = req.json<{ messages: { content: unknown }[] }>();
      // The latest user turn decides, so a history that mentions an earlier turn's marker does not.
      return turnFor(JSON.stringify(body.messages.at(-1)?.content ?? ''));
    });
    gw = await startTestGateway(`
providers:
  - name: claude
    apiKeys: { main: fake-anthropic-errors-0001 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: ${fake.url}, defaultModel: claude-test }
  - name: plain
    apiKeys: { main: sk-plain-secret-000000000002 }
    services: [{ type: cx, baseUrl: ${fake.url} }]
models:
  gpt-5.1-codex:
    model: claude-sonnet-4-5-test
    reasoning: { low: low, medium: medium, high: high, default: medium }
users:
  - { name: tim, apiKey: ${USER_KEY}, providerName: claude, providerKeyName: main }
  - { name: pat, apiKey: piapi-user-plain-000000002, providerName: plain, providerKeyName: main }
`);
    client = new OpenAI({ apiKey: USER_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    gate.open();
    await gw.stop();
    await fake.close();
  });

  const post = async (body: unknown, headers: Record<string, string> = {}) => {
    const res = await request(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${USER_KEY}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };

  it('carries Anthropic thinking in encrypted_content and replays it with its signature next turn', async () => {
    const first = await client.responses.create({
      model: 'gpt-5.1-codex',
      input: 'please-think',
      reasoning: { effort: 'high', summary: 'auto' },
      include: ['reasoning.encrypted_content'],
      store: false,
    });
    const reasoning = first.output.find((i) => i.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.summary).toEqual([{ type: 'summary_text', text: 'Let me think.' }]);
    expect(reasoning.encrypted_content).toBeTruthy();
    expect(reasoning.encrypted_content).not.toContain('think');
    expect(first.output_text).toBe('Thought it through.');
    expect(['enabled', 'adaptive']).toContain(fake.requests.at(-1)!.json().thinking?.type);

    const message = first.output.find((i) => i.type === 'message')!;
    const second = await client.responses.create({
      model: 'gpt-5.1-codex',
      reasoning: { effort: 'high', summary: 'auto' },
      include: ['reasoning.encrypted_content'],
      input: [{ role: 'user', content: 'please-think' }, reasoning, message, { role: 'user', content: 'and now?' }],
    });
    expect(second.output_text).toBe('ok');
    const replayed = fake.requests.at(-1)!.json().messages[1].content[0];
    expect(replayed).toEqual({ type: 'thinking', thinking: 'Let me think.', signature: fakeSignature('Let me think.') });
  });

  it('relays the Anthropic refusal of a tampered thinking signature as a 400 in OpenAI format', async () => {
    const carried = encodeReasoning({ api: 'anthropic-messages', thinking: 'Let me think.', signature: 'forged', redacted: false });
    expect(decodeReasoning(carried)?.signature).toBe('forged');
    const res = await post({
      model: 'gpt-5.1-codex',
      input: [
        { role: 'user', content: 'please-think' },
        { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: carried },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Thought it through.' }] },
        { role: 'user', content: 'and now?' },
      ],
    });
    expect(res.status).toBe(400);
    const body = JSON.parse(res.text);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null });
    expect(body.error.message).toContain('signature');
    expect(body.request_id).toBe(res.headers['x-request-id']);
  });

  it('drops reasoning items it did not make instead of sending them to Anthropic', async () => {
    const res = await post({
      model: 'gpt-5.1-codex',
      input: [
        { role: 'user', content: 'hello' },
        { type: 'reasoning', id: 'rs_2', summary: [{ type: 'summary_text', text: 'x' }], encrypted_content: 'gAAAAB-openai-encrypted' },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'hi' }] },
        { role: 'user', content: 'again' },
      ],
    });
    expect(res.status).toBe(200);
    expect(JSON.stringify(fake.requests.at(-1)!.json().messages)).not.toContain('thinking');
  });

  it('answers an upstream 429 before the stream at once with HTTP 429 and an OpenAI error body (the client retries, not piapi)', async () => {
    const before = fake.requests.length;
    const res = await post({ model: 'gpt-5.1-codex', input: 'please-429', stream: true });
    expect(res.status).toBe(429);
    expect(JSON.parse(res.text)).toMatchObject({ error: { type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null } });
    // The Anthropic SDK under pi-ai drops the headers of a 429; error-response-heads.ts finds them again.
    expect(res.headers['retry-after']).toBe('7');
    expect(fake.requests.length - before).toBe(1);
  });

  it('answers an upstream 500 before the stream with a 5xx server_error', async () => {
    const res = await post({ model: 'gpt-5.1-codex', input: 'please-500', stream: true });
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(JSON.parse(res.text).error.type).toBe('server_error');
  }, 30_000);

  it('ends a stream that fails after it started with response.failed and no response.completed', async () => {
    const res = await post({ model: 'gpt-5.1-codex', input: 'please-midstream', stream: true });
    expect(res.status).toBe(200);
    expect(res.text).toContain('event: response.output_text.delta');
    expect(res.text).not.toContain('response.completed');
    const failed = lastEvent(res.text);
    expect(failed.type).toBe('response.failed');
    expect(failed.response.status).toBe('failed');
    expect(failed.response.error.message).toContain('overloaded right now');
  });

  it('treats an upstream stream cut before its final event as an error, never a short answer', async () => {
    const res = await post({ model: 'gpt-5.1-codex', input: 'please-cut', stream: true });
    expect(lastEvent(res.text).type).toBe('response.failed');
    expect(res.text).not.toContain('response.completed');
    await expect(client.responses.create({ model: 'gpt-5.1-codex', input: 'please-cut' })).rejects.toThrow();
  });

  it('aborts the upstream call when the client goes away', async () => {
    const before = fake.requests.length;
    const controller = new AbortController();
    const stream = await client.responses.create({ model: 'gpt-5.1-codex', input: 'please-hang', stream: true }, { signal: controller.signal });
    const seen: string[] = [];
    try {
      for await (const event of stream) {
        seen.push(event.type);
        if (event.type === 'response.output_text.delta') controller.abort();
      }
    } catch {
      // The SDK may end the iteration or throw on abort.
    }
    expect(seen).toContain('response.output_text.delta');
    expect(seen).not.toContain('response.completed');
    await eventually(() => fake.requests.length > before);
    await fake.requests[before].closed;
    expect(fake.requests[before].closedEarly).toBe(true);
  });

  it('refuses previous_response_id with a 400 that says to send the whole conversation', async () => {
    const res = await post({ model: 'gpt-5.1-codex', input: 'hi', previous_response_id: 'resp_123' });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error.message).toMatch(/previous_response_id: not supported.*whole conversation/);
  });

  it('accepts the key as x-api-key too, and answers an unknown key with a 401 in OpenAI format', async () => {
    expect((await post({ model: 'gpt-5.1-codex', input: 'hi' }, { authorization: '', 'x-api-key': USER_KEY })).status).toBe(200);
    const res = await post({ model: 'gpt-5.1-codex', input: 'hi' }, { authorization: 'Bearer piapi-nobody-00000000000' });
    expect(res.status).toBe(401);
    const body = JSON.parse(res.text);
    expect(body.type).toBeUndefined();
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null });
  });

  it('answers 404 in OpenAI format for a provider without an llm block', async () => {
    const res = await post({ model: 'x', input: 'hi' }, { authorization: 'Bearer piapi-user-plain-000000002' });
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text).error.message).toContain('no llm block');
  });

  it('counts requests and tokens under service_type responses and logs the target model', async () => {
    await post({ model: 'gpt-5.1-codex', input: 'hi' });
    const metrics = await (await request(`${gw.url}/metrics`)).body.text();
    expect(metrics).toMatch(/piapi_requests_total\{service_type="responses",status_class="2xx"\} [1-9]/);
    expect(metrics).toMatch(/piapi_tokens_total\{[^}]*user="tim"[^}]*\} [1-9]/);
    await eventually(() => gw.logs.records().some((r) => r.service_type === 'responses' && r.model === 'claude-sonnet-4-5-test'));
  });
});

describe('/v1/responses on a Codex upstream: retry-after', () => {
  it('passes the upstream 429 retry-after on to the client', async () => {
    const fake = await startOpenAIResponsesFake({ httpError: { status: 429, message: 'slow down', headers: { 'retry-after': '7' } } }, { flavor: 'codex' });
    const gw = await startTestGateway(`
providers:
  - name: codex
    apiKeys: { main: ${JSON.stringify(fakeCodexJwt({ accountId: 'acc-retry' }))} }
    llm: { provider: openai-codex, api: openai-codex-responses, baseUrl: ${fake.url}, defaultModel: gpt-test }
users:
  - { name: tim, apiKey: ${USER_KEY}, providerName: codex, providerKeyName: main }
`);
    try {
      const res = await request(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${USER_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', input: 'hi', stream: true }),
      });
      expect(res.statusCode).toBe(429);
      expect(res.headers['retry-after']).toBe('7');
      expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');
      expect(fake.requests).toHaveLength(1);
    } finally {
      await gw.stop();
      await fake.close();
    }
  });
});

function lastEvent(sse: string): { type: string; response: { status: string; error: { message: string } } } {
  const frames = sse.trim().split('\n\n');
  const data = frames.at(-1)!.split('\n').find((l) => l.startsWith('data: '))!;
  return JSON.parse(data.slice(6));
}
