import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import type { RecordedRequest } from '../fakes/fake-upstream.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { runClaude, type ClientRun } from './clients.js';

const USER_KEY = 'piapi-user-claude-pool-0001';
const KEYS = { k1: 'sk-ant-pool-limited-111111', k2: 'sk-ant-pool-spare-2222222' } as const;

function explain(run: ClientRun): string {
  return `exit ${run.code} in ${run.durationMs} ms\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
}

function keyOf(req: RecordedRequest): string {
  const value = String(req.headers['x-api-key'] ?? req.headers.authorization ?? '');
  return Object.entries(KEYS).find(([, secret]) => value.includes(secret))?.[0] ?? 'other';
}

/**
 * Issue 15: real Claude Code (its own retries off, as the suite runs it) through a key pool whose
 * first key the upstream rate-limits. The gateway moves the turn to the second key before Claude
 * Code sees anything: the turn succeeds and no error is shown. Both ways Claude Code reaches an
 * Anthropic upstream: the `cc` pass-through and `/v1/messages` translated through pi-ai.
 */
describe('real Claude Code through a key pool whose first key is rate limited', () => {
  let fake: ProviderFake;
  let gw: TestGateway;

  beforeAll(async () => {
    fake = await startAnthropicMessagesFake((req) =>
      keyOf(req) === 'k1'
        ? { httpError: { status: 429, message: 'Number of requests has exceeded your rate limit', headers: { 'retry-after': '30' } } }
        : { text: ['Answered by ', 'the spare key.'] },
    );
    gw = await startTestGateway(`
providers:
  - name: pooled-llm
    apiKeys: { k1: ${KEYS.k1}, k2: ${KEYS.k2} }
    keyPools:
      team: { keys: [k1, k2], strategy: fill-first, cooldownMs: 60000 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: ${fake.url}, defaultModel: claude-sonnet-4-5 }
  - name: pooled-cc
    apiKeys: { k1: ${KEYS.k1}, k2: ${KEYS.k2} }
    keyPools:
      team: { keys: [k1, k2], strategy: fill-first, cooldownMs: 60000 }
    services: [{ type: cc, baseUrl: ${fake.url} }]
users:
  - { name: translated, apiKey: ${USER_KEY}, providerName: pooled-llm, providerKeyName: team }
  - { name: passthrough, apiKey: ${USER_KEY}-cc, providerName: pooled-cc, providerKeyName: team }
`);
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });
  afterEach(() => {
    fake.requests.length = 0;
  });

  it.each([
    ['on /v1/messages (translated)', '', USER_KEY, 'pooled-llm'],
    ['on the cc pass-through', '/piapi/cc', `${USER_KEY}-cc`, 'pooled-cc'],
  ])('%s: the turn succeeds on the second key and shows no error', async (_name, path, apiKey, provider) => {
    const run = await runClaude({ baseUrl: `${gw.url}${path}`, apiKey, prompt: 'say hi' });

    expect(run.stdout.trim(), explain(run)).toBe('Answered by the spare key.');
    expect(run.code, explain(run)).toBe(0);
    expect(run.stderr).not.toMatch(/rate.?limit|429/i);
    const turns = fake.requests.filter((r) => r.path.endsWith('/v1/messages')).map(keyOf);
    // Key 1 refused the first call; every answer came from key 2, and key 1 was not asked again while it cooled.
    expect(turns[0], explain(run)).toBe('k1');
    expect(turns.slice(1).every((k) => k === 'k2'), turns.join(',')).toBe(true);
    expect(turns.filter((k) => k === 'k1')).toHaveLength(1);
    const metrics = await (await request(`${gw.url}/metrics`)).body.text();
    expect(metrics).toMatch(new RegExp(`piapi_upstream_attempts_total\\{service_type="(messages|cc)",provider="${provider}",key="k1",outcome="rate_limited"\\} 1`));
    expect(metrics).toContain(`piapi_provider_key_available{provider="${provider}",key="k1"} 0`);
  });
});
