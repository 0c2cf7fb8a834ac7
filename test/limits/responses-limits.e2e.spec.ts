import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { killGateway, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';

// Per-user limits on the OpenAI Responses API (what Codex posts), translated to an Anthropic
// upstream: refusals in OpenAI's error shape, and the translated answers' tokens counted.
vi.setConfig({ testTimeout: 60_000 });

const KEYS = { requests: 'piapi-user-responses-req-01', tokens: 'piapi-user-responses-tok-02', raw: 'piapi-user-responses-raw-03' };
/** Every answer: 20 input + 5 cache read + 5 cache write + 10 output = 40 tokens. */
const USAGE = { inputTokens: 20, cacheReadTokens: 5, cacheWriteTokens: 5, outputTokens: 10 };

describe('limits on POST /v1/responses (translated, no state.redis)', () => {
  let fake: ProviderFake;
  let gw: GatewayProcess;
  let dir: string;
  const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  const ask = async (key: string): Promise<string> => {
    const stream = await client(key).responses.create({ model: 'gpt-5.1-codex-mini', input: 'hi', stream: true, store: false });
    let text = '';
    for await (const event of stream) if (event.type === 'response.output_text.delta') text += event.delta;
    return text;
  };

  beforeAll(async () => {
    fake = await startAnthropicMessagesFake({ text: ['Hello'], usage: USAGE });
    dir = await mkdtemp(join(tmpdir(), 'piapi-responses-limits-'));
    const config = join(dir, 'config.yaml');
    await writeFile(
      config,
      `providers:
  - name: target
    apiKeys: { main: fake-responses-provider-key-01 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: ${fake.url}, defaultModel: m }
users:
  - { name: requests, apiKey: ${KEYS.requests}, providerName: target, providerKeyName: main, limits: { requestsPerMinute: 2 } }
  - { name: tokens, apiKey: ${KEYS.tokens}, providerName: target, providerKeyName: main, limits: { tokensPerMinute: 50 } }
  - { name: raw, apiKey: ${KEYS.raw}, providerName: target, providerKeyName: main, limits: { requestsPerMinute: 1 } }
`,
    );
    gw = await spawnGateway(config);
  });
  afterAll(async () => {
    await killGateway(gw);
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses the request over requestsPerMinute with a 429 the OpenAI SDK surfaces as a RateLimitError, with retry-after, before the upstream', async () => {
    expect(await ask(KEYS.requests)).toBe('Hello');
    expect(await ask(KEYS.requests)).toBe('Hello');
    const before = fake.requests.length;

    const refused = await ask(KEYS.requests).catch((err: unknown) => err);

    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.status).toBe(429);
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.message).toContain('requestsPerMinute (2)');
    expect(Number(error.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(error.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(error.requestID).toMatch(/\S/);
    expect(fake.requests.length).toBe(before);
  });

  it("answers the refusal in OpenAI's error shape with the request id, as Codex parses it", async () => {
    const post = () =>
      request(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEYS.raw}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-5.1-codex-mini', input: 'hi', stream: false }),
      });
    const first = await post();
    await first.body.dump();
    expect(first.statusCode).toBe(200);

    const res = await post();
    const body = (await res.body.json()) as Record<string, unknown>;
    expect(res.statusCode).toBe(429);
    expect(Object.keys(body).sort()).toEqual(['error', 'request_id']);
    expect(body.error).toEqual({
      message: expect.stringContaining('requestsPerMinute (1)') as unknown,
      type: 'rate_limit_error',
      param: null,
      code: 'rate_limit_exceeded',
    });
    expect(body.request_id).toBe(res.headers['x-request-id']);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });

  it('counts input, cache and output tokens of translated /v1/responses streams against tokensPerMinute', async () => {
    const before = fake.requests.length;
    expect(await ask(KEYS.tokens)).toBe('Hello'); // 0 of 50 used: admitted, 40 counted
    expect(await ask(KEYS.tokens)).toBe('Hello'); // 40 of 50: admitted, crosses to 80

    const refused = await ask(KEYS.tokens).catch((err: unknown) => err);

    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as Error).message).toContain('tokensPerMinute (50)');
    expect(fake.requests.length - before).toBe(2);
  });
});
