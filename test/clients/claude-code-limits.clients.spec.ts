import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { eventually, startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { runClaude, type ClientRun } from './clients.js';

const USER_KEY = 'piapi-user-claude-limited-01';
/** How long the request that holds the user's one slot streams. */
const HOLD_MS = 4_000;

function explain(run: ClientRun): string {
  return `exit ${run.code} in ${run.durationMs} ms\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

/**
 * Real Claude Code as a user with `concurrentRequests: 1` whose slot another request holds: it
 * gets 429 with `retry-after: 1`, retries on its own, and the turn succeeds once the slot frees.
 */
describe('real Claude Code through a limited user', () => {
  let fake: ProviderFake;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startAnthropicMessagesFake((req) =>
      req.text().includes('hold the slot')
        ? { text: Array.from({ length: 20 }, () => 'x'), pace: { delayMs: HOLD_MS / 20 } }
        : { text: ['Answered ', 'after the retry.'] },
    );
    gw = await startTestGateway(`
providers:
  - name: claude
    apiKeys: { main: fake-anthropic-limited-key-01 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: ${fake.url}, defaultModel: claude-sonnet-4-5 }
users:
  - { name: dev, apiKey: ${USER_KEY}, providerName: claude, providerKeyName: main, limits: { concurrentRequests: 1 } }
`);
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  it("honours the 429's retry-after: retries and prints the answer", async () => {
    const held = request(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': USER_KEY, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hold the slot' }] }),
    }).then(async (res) => ({ status: res.statusCode, body: await res.body.text() }));
    await eventually(() => fake.requests.some((r) => r.text().includes('hold the slot')));
    const refusedBefore = await refusals(gw);

    // The suite turns Claude Code's retries off by default; a user's Claude Code retries.
    const run = await runClaude({ baseUrl: gw.url, apiKey: USER_KEY, prompt: 'say hi', env: { CLAUDE_CODE_MAX_RETRIES: '10' } });

    expect(run.stdout.trim(), explain(run)).toBe('Answered after the retry.');
    expect(run.code, explain(run)).toBe(0);
    expect((await held).status).toBe(200);
    // It was refused at least once while the slot was held, and did not show it.
    expect((await refusals(gw)) - refusedBefore, explain(run)).toBeGreaterThanOrEqual(1);
    expect(run.stderr).not.toMatch(/rate.?limit|429/i);
  });
});

async function refusals(gw: TestGateway): Promise<number> {
  const text = await (await request(`${gw.url}/metrics`)).body.text();
  const match = /^piapi_rate_limited_total\{user="dev",limit="concurrentRequests"\} (\d+)/m.exec(text);
  return Number(match?.[1] ?? 0);
}
