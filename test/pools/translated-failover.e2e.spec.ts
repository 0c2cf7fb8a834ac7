import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import { fakeCodexJwt } from '../fakes/fake-jwt.js';
import type { FakeTurn } from '../fakes/fake-turn.js';
import type { RecordedRequest } from '../fakes/fake-upstream.js';
import { startOpenAIResponsesFake } from '../fakes/openai-responses.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { scrape, seriesValue } from '../support/metrics-scrape.js';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';

/**
 * Issue 15 on the translated routes: a user bound to a key pool gets `/v1/messages` and
 * `/v1/responses` answered by the next key when one fails before its first output. The fakes
 * speak the real wire formats and answer per key, recording which key each request carried.
 */
const USER = 'piapi-user-pool-translated-0001';
const KEYS = { k1: 'sk-ant-pool-key-one-1111', k2: 'sk-ant-pool-key-two-2222', k3: 'sk-ant-pool-key-three-33' } as const;
type KeyName = keyof typeof KEYS;
const NAME_OF = new Map<string, KeyName>(Object.entries(KEYS).map(([name, value]) => [value, name as KeyName]));

let behaviour: Partial<Record<KeyName, FakeTurn>> = {};
let anthropicFake: ProviderFake;
let gw: TestGateway | undefined;

function anthropicKey(req: RecordedRequest): KeyName | undefined {
  return NAME_OF.get(String(req.headers['x-api-key'] ?? ''));
}

function keysSeen(fake: ProviderFake, keyOf: (r: RecordedRequest) => string | undefined): (string | undefined)[] {
  return fake.requests.map(keyOf);
}

async function start(o: { cooldownMs?: number; http?: string; extraKeys?: string; members?: string } = {}): Promise<TestGateway> {
  gw = await startTestGateway(`
${o.http ?? ''}
providers:
  - name: claude
    apiKeys: { k1: ${KEYS.k1}, k2: ${KEYS.k2}, k3: ${KEYS.k3}${o.extraKeys ?? ''} }
    keyPools:
      team: { keys: [${o.members ?? 'k1, k2, k3'}], strategy: fill-first, cooldownMs: ${o.cooldownMs ?? 60000} }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: ${anthropicFake.url}, defaultModel: claude-test }
users:
  - { name: Alice, apiKey: ${USER}, providerName: claude, providerKeyName: team }
`);
  return gw;
}

function anthropic(): Anthropic {
  return new Anthropic({ apiKey: USER, baseURL: gw!.url, maxRetries: 0 });
}

/** The gateway is new for each test: its first request line is the test's first request. */
async function firstLogLine(): Promise<Record<string, unknown>> {
  const find = () => gw!.logs.records().find((r) => r.msg === 'request completed');
  await eventually(() => find() !== undefined);
  return find()!;
}

function metrics(): Promise<string> {
  return scrape(gw!.url);
}

beforeAll(async () => {
  anthropicFake = await startAnthropicMessagesFake((req) => {
    const key = anthropicKey(req);
    return (key && behaviour[key]) ?? { text: ['answer from ', key ?? 'nobody'] };
  });
});
afterAll(async () => {
  await anthropicFake.close();
});
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
  behaviour = {};
  anthropicFake.requests.length = 0;
});

const ask = { model: 'claude-test', max_tokens: 64, messages: [{ role: 'user' as const, content: 'hi' }] };

describe('key pool failover on /v1/messages', () => {
  it('streams the answer of key 2 when key 1 is rate limited, skips key 1 for its retry-after, then uses it again', async () => {
    await start();
    behaviour.k1 = { httpError: { status: 429, message: 'rate limited', headers: { 'retry-after': '2' } } };

    const stream = anthropic().messages.stream(ask);
    const message = await stream.finalMessage();
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: 'answer from k2' })]);
    expect(keysSeen(anthropicFake, anthropicKey)).toEqual(['k1', 'k2']);
    const line = await firstLogLine();
    expect(line).toMatchObject({ provider_key: 'k2', attempts: 2, status: 200 });

    behaviour = {};
    await anthropic().messages.create(ask);
    expect(keysSeen(anthropicFake, anthropicKey)).toEqual(['k1', 'k2', 'k2']);

    await sleep(2_100);
    const later = await anthropic().messages.create(ask);
    expect(later.content[0]).toMatchObject({ text: 'answer from k1' });

    const text = await metrics();
    expect(seriesValue(text, 'piapi_upstream_attempts_total{service_type="messages",provider="claude",key="k1",outcome="rate_limited"}')).toBe(1);
    expect(seriesValue(text, 'piapi_upstream_attempts_total{service_type="messages",provider="claude",key="k2",outcome="ok"}')).toBe(2);
    expect(text).not.toContain(KEYS.k1);
  });

  it('fails over on 529 overloaded, on 503 and on an overloaded_error event before the first output (non-streaming)', async () => {
    await start();
    behaviour.k1 = { httpError: { status: 529, message: 'Overloaded' } };
    behaviour.k2 = { httpError: { status: 503, message: 'unavailable' } };

    const first = await anthropic().messages.create(ask);
    expect(first.content[0]).toMatchObject({ text: 'answer from k3' });
    expect(keysSeen(anthropicFake, anthropicKey)).toEqual(['k1', 'k2', 'k3']);
  });

  it('fails over when an upstream stream errors before any output (overloaded_error event after 200)', async () => {
    await start();
    behaviour.k1 = { streamError: { message: 'Overloaded', code: 'overloaded_error' } };

    const message = await anthropic().messages.stream(ask).finalMessage();
    expect(message.content[0]).toMatchObject({ text: 'answer from k2' });
    expect(keysSeen(anthropicFake, anthropicKey)).toEqual(['k1', 'k2']);
  });

  it('fails over when key 1 is refused with 401, and keeps it out longer than a rate limit', async () => {
    await start({ cooldownMs: 1_000 });
    behaviour.k1 = { httpError: { status: 401, message: 'invalid x-api-key' } };

    const first = await anthropic().messages.create(ask);
    expect(first.content[0]).toMatchObject({ text: 'answer from k2' });
    behaviour = {};
    // cooldownMs × 10 for a refused key: still out after the plain cooldown has passed.
    await sleep(1_200);
    await anthropic().messages.create(ask);
    expect(keysSeen(anthropicFake, anthropicKey)).toEqual(['k1', 'k2', 'k2']);
  });

  it('fails over when key 1 times out before response headers', async () => {
    await start({ http: 'http: { headersTimeoutMs: 400 }' });
    behaviour.k1 = { text: ['never'], fault: { kind: 'stall-before-headers' } };

    const message = await anthropic().messages.create(ask);
    expect(message.content[0]).toMatchObject({ text: 'answer from k2' });
    expect(keysSeen(anthropicFake, anthropicKey)).toEqual(['k1', 'k2']);
  });

  it('skips an OAuth member whose credentials cannot be read, and counts it as an attempt', async () => {
    await start({ extraKeys: ', gone: { oauth: anthropic, credentialsFile: /nonexistent/piapi/gone.json }', members: 'gone, k2' });

    const message = await anthropic().messages.create(ask);
    expect(message.content[0]).toMatchObject({ text: 'answer from k2' });
    expect(keysSeen(anthropicFake, anthropicKey)).toEqual(['k2']);
    expect(await firstLogLine()).toMatchObject({ provider_key: 'k2', attempts: 2 });
    expect(seriesValue(await metrics(), 'piapi_upstream_attempts_total{service_type="messages",provider="claude",key="gone",outcome="key_unavailable"}')).toBe(1);
  });

  it('answers a 400 as it is: the request is at fault, not the key', async () => {
    await start();
    behaviour.k1 = { httpError: { status: 400, message: 'messages: bad content' } };

    const failure = await anthropic().messages.create(ask).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Anthropic.BadRequestError);
    expect((failure as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(keysSeen(anthropicFake, anthropicKey)).toEqual(['k1']);
  });

  it('with every key rate limited: 429 with the soonest retry-after, then no upstream call while they cool down', async () => {
    await start();
    behaviour.k1 = { httpError: { status: 429, message: 'limited', headers: { 'retry-after': '40' } } };
    behaviour.k2 = { httpError: { status: 429, message: 'limited', headers: { 'retry-after': '30' } } };
    behaviour.k3 = { httpError: { status: 429, message: 'limited', headers: { 'retry-after': '50' } } };

    const first = await request(`${gw!.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': USER, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(ask),
    });
    expect(first.statusCode).toBe(429);
    // The last key's own answer, its retry-after with it (pi-ai drops it; error-response-heads.ts finds it again).
    expect(first.headers['retry-after']).toBe('50');
    const body = (await first.body.json()) as { type: string; error: { type: string }; request_id?: string };
    expect(body).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(keysSeen(anthropicFake, anthropicKey)).toEqual(['k1', 'k2', 'k3']);

    const second = await request(`${gw!.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': USER, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...ask, stream: true }),
    });
    expect(second.statusCode).toBe(429);
    // The soonest key: k2's 30 s.
    const retryAfter = Number(second.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(29);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(await second.body.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringContaining('pool "team"') } });
    expect(anthropicFake.requests).toHaveLength(3);
  });

  it('never retries a stream whose output has started: the client gets the error event', async () => {
    await start();
    behaviour.k1 = { text: ['partial answer'], streamError: { message: 'Overloaded', code: 'overloaded_error' } };

    const stream = anthropic().messages.stream(ask);
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const failure = await stream.finalMessage().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect(texts.join('')).toBe('partial answer');
    expect(keysSeen(anthropicFake, anthropicKey)).toEqual(['k1']);
  });
});

describe('key pool failover on /v1/responses', () => {
  it('answers from key 2 when key 1 is rate limited on an Anthropic upstream', async () => {
    await start();
    behaviour.k1 = { httpError: { status: 429, message: 'rate limited', headers: { 'retry-after': '2' } } };
    const client = new OpenAI({ apiKey: USER, baseURL: `${gw!.url}/v1`, maxRetries: 0 });

    const response = await client.responses.stream({ model: 'claude-test', input: 'hi' }).finalResponse();
    expect(response.output_text).toBe('answer from k2');
    expect(keysSeen(anthropicFake, anthropicKey)).toEqual(['k1', 'k2']);
    const text = await metrics();
    expect(seriesValue(text, 'piapi_upstream_attempts_total{service_type="responses",provider="claude",key="k1",outcome="rate_limited"}')).toBe(1);
  });

  it('with every key cooling down: 429 in OpenAI format with the soonest retry-after, and no upstream call', async () => {
    await start();
    for (const key of ['k1', 'k2', 'k3'] as const) behaviour[key] = { httpError: { status: 429, message: 'limited', headers: { 'retry-after': '20' } } };
    const client = new OpenAI({ apiKey: USER, baseURL: `${gw!.url}/v1`, maxRetries: 0 });

    const first = await client.responses.create({ model: 'claude-test', input: 'hi' }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(OpenAI.RateLimitError);
    expect(anthropicFake.requests).toHaveLength(3);

    const res = await request(`${gw!.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${USER}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-test', input: 'hi', stream: true }),
    });
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(19);
    const body = (await res.body.json()) as { error: { code: string; message: string }; request_id: string };
    expect(body.error).toMatchObject({ code: 'rate_limit_exceeded', message: expect.stringContaining('pool "team"') });
    expect(body.request_id).toBe(res.headers['x-request-id']);
    expect(anthropicFake.requests).toHaveLength(3);
  });

  it("skips a ChatGPT account for its usage_limit_reached reset and fails over to the next one", async () => {
    const accounts = { a1: fakeCodexJwt({ accountId: 'acct_pool_0001' }), a2: fakeCodexJwt({ accountId: 'acct_pool_0002' }) };
    const accountOf = (req: RecordedRequest) => String(req.headers['chatgpt-account-id'] ?? '');
    let limitA1 = true;
    const codexFake = await startOpenAIResponsesFake(
      (req) =>
        accountOf(req) === 'acct_pool_0001' && limitA1
          ? { httpError: { status: 429, body: { error: { type: 'usage_limit_reached', message: 'The usage limit has been reached', plan_type: 'plus', resets_in_seconds: 2 } } } }
          : { text: [`answer from ${accountOf(req)}`] },
      { flavor: 'codex' },
    );
    try {
      gw = await startTestGateway(`
providers:
  - name: chatgpt
    apiKeys: { a1: ${accounts.a1}, a2: ${accounts.a2} }
    keyPools:
      team: { keys: [a1, a2], strategy: fill-first, cooldownMs: 600000 }
    llm: { provider: openai-codex, api: openai-codex-responses, baseUrl: ${codexFake.url}, defaultModel: gpt-5.1-codex-mini }
users:
  - { name: Alice, apiKey: ${USER}, providerName: chatgpt, providerKeyName: team }
`);
      const client = new OpenAI({ apiKey: USER, baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const first = await client.responses.create({ model: 'gpt-5.1-codex-mini', input: 'hi' });
      expect(first.output_text).toBe('answer from acct_pool_0002');
      // No retry of the limited account by the transport itself: straight to the next one.
      expect(codexFake.requests.map(accountOf)).toEqual(['acct_pool_0001', 'acct_pool_0002']);
      expect(await metrics()).toContain('piapi_provider_key_available{provider="chatgpt",key="a1"} 0');

      limitA1 = false;
      await client.responses.create({ model: 'gpt-5.1-codex-mini', input: 'hi' });
      expect(codexFake.requests.map(accountOf).at(-1)).toBe('acct_pool_0002');
      // resets_in_seconds 2, not the pool's 10 minutes.
      await sleep(2_100);
      const later = await client.responses.create({ model: 'gpt-5.1-codex-mini', input: 'hi' });
      expect(later.output_text).toBe('answer from acct_pool_0001');
    } finally {
      await codexFake.close();
    }
  });
});
