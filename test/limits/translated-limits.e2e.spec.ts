import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { eventually } from '../support/gateway-harness.js';
import { killGateway, spawnGateway, type GatewayProcess } from '../support/gateway-process.js';

// Limits on the translated API, without Redis: one process counts alone (and says so).
vi.setConfig({ testTimeout: 60_000 });

const KEYS = { tokens: 'piapi-user-translated-tok-01', requests: 'piapi-user-translated-req-02', counting: 'piapi-user-translated-cnt-03', off: 'piapi-user-translated-off-04' };
/** Every answer: 20 input + 5 cache read + 5 cache write + 10 output = 40 tokens. */
const USAGE = { inputTokens: 20, cacheReadTokens: 5, cacheWriteTokens: 5, outputTokens: 10 };

describe('limits on /v1/messages, count_tokens and /v1/models (no state.redis)', () => {
  let fake: ProviderFake;
  let gw: GatewayProcess;
  let dir: string;
  const client = (key: string) => new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 });
  const ask = (key: string) =>
    client(key)
      .messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage();
  const countTokens = (key: string) => client(key).messages.countTokens({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hello world' }] });

  beforeAll(async () => {
    fake = await startAnthropicMessagesFake({ text: ['Hello'], usage: USAGE });
    dir = await mkdtemp(join(tmpdir(), 'piapi-translated-limits-'));
    const config = join(dir, 'config.yaml');
    await writeFile(
      config,
      `limits:
  requestsPerMinute: 100
providers:
  - name: target
    apiKeys: { main: fake-translated-provider-key-01 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: ${fake.url}, defaultModel: m }
users:
  - { name: tokens, apiKey: ${KEYS.tokens}, providerName: target, providerKeyName: main, limits: { tokensPerMinute: 50 } }
  - { name: requests, apiKey: ${KEYS.requests}, providerName: target, providerKeyName: main, limits: { requestsPerMinute: 3 } }
  - { name: counting, apiKey: ${KEYS.counting}, providerName: target, providerKeyName: main, limits: { tokensPerMinute: 1 } }
  - { name: off, apiKey: ${KEYS.off}, providerName: target, providerKeyName: main, limits: { requestsPerMinute: 0 } }
`,
    );
    gw = await spawnGateway(config);
  });
  afterAll(async () => {
    await killGateway(gw);
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('says in its start log that limits hold per process without state.redis', async () => {
    // The log is flushed every 250 ms.
    await eventually(() => gw.output().includes('limits are counted by this process alone'), 5_000);
    const line = gw.output().split('\n').find((l) => l.includes('limits are counted by this process alone'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 'warn' });
    expect(line).toContain('state.redis');
  });

  it('counts input, cache and output tokens of streamed translated answers: the crossing request completes, the next is refused', async () => {
    const before = fake.requests.length;
    await ask(KEYS.tokens); // 0 of 50 used: admitted, 40 counted
    await ask(KEYS.tokens); // 40 of 50: admitted, crosses to 80

    const refused = await ask(KEYS.tokens).catch((err: unknown) => err);

    expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
    const error = refused as InstanceType<typeof Anthropic.RateLimitError>;
    expect(error.message).toContain('tokensPerMinute (50)');
    expect(Number(error.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(error.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect((error.error as { request_id?: string }).request_id).toBe(error.headers.get('x-request-id'));
    expect(fake.requests.length - before).toBe(2);
  });

  it('counts count_tokens and /v1/models as requests, and count_tokens adds no tokens', async () => {
    expect((await countTokens(KEYS.requests)).input_tokens).toBeGreaterThan(0);
    await client(KEYS.requests).models.list();
    await ask(KEYS.requests);
    const refused = await countTokens(KEYS.requests).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
    expect((refused as Error).message).toContain('requestsPerMinute (3)');

    // tokensPerMinute 1: any answered message would use it up; counting tokens never does.
    for (let i = 0; i < 5; i++) expect((await countTokens(KEYS.counting)).input_tokens).toBeGreaterThan(0);
  });

  it('refuses everything for a limit of 0 (a disabled user), without calling the upstream', async () => {
    const before = fake.requests.length;
    const refused = await ask(KEYS.off).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
    expect((refused as Error).message).toMatch(/requestsPerMinute is 0 for user .*off.*, so every request is refused/);
    expect(fake.requests.length).toBe(before);
  });
});
