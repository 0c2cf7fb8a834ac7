import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import { startChatCompletionsFake } from '../fakes/chat-completions.fake.js';
import { fakeCodexJwt } from '../fakes/fake-jwt.js';
import { startOpenAIResponsesFake } from '../fakes/openai-responses.fake.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { anthropicRequestBody } from '../fixtures/messages/arbitraries.js';
import { checkAnthropicStream } from '../fixtures/messages/anthropic-stream-checker.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { expectAnthropicError, postRaw, type Reply } from './support/anthropic-client.js';
import { SCRIPTED_API, registerScriptedApi, scenario, type Scenario } from './support/pi-scenarios.js';
import { anthropicEvents } from './support/sse.js';

const TARGETS = ['anthropic', 'responses', 'completions', 'codex'] as const;
const KEYS: Record<(typeof TARGETS)[number] | 'scripted', string> = {
  anthropic: 'piapi-user-props-anthropic-01',
  responses: 'piapi-user-props-responses-01',
  completions: 'piapi-user-props-completion-1',
  codex: 'piapi-user-props-codex-000001',
  scripted: 'piapi-user-props-scripted-001',
};

/** A 200 stream must be well-formed Anthropic SSE; a 200 message a message; anything else an Anthropic JSON error. */
function expectWellFormed(reply: Reply, stream: boolean): void {
  if (reply.status !== 200) {
    expectAnthropicError(reply);
    return;
  }
  if (stream) {
    expect(checkAnthropicStream(anthropicEvents(reply.text)), reply.text).toEqual([]);
  } else {
    const message = JSON.parse(reply.text) as { type: string; content: unknown[] };
    expect(message.type).toBe('message');
    expect(Array.isArray(message.content)).toBe(true);
  }
}

describe('/v1/messages properties, end to end', () => {
  const fakes: ProviderFake[] = [];
  const scenarios = new Map<string, Scenario>();
  let unregister: () => void;
  let gw: TestGateway;

  beforeAll(async () => {
    unregister = registerScriptedApi(scenarios);
    const turn = { text: ['Hello', ' there'], usage: { inputTokens: 12, outputTokens: 2 } };
    const [anthropic, responses, completions, codex] = await Promise.all([
      startAnthropicMessagesFake(turn),
      startOpenAIResponsesFake(turn),
      startChatCompletionsFake(turn),
      startOpenAIResponsesFake(turn, { flavor: 'codex' }),
    ]);
    fakes.push(anthropic, responses, completions, codex);
    gw = await startTestGateway(`
providers:
  - name: anthropic
    apiKeys: { k: fake-props-provider-key-0001 }
    llm: { provider: anthropic, api: anthropic-messages, baseUrl: "${anthropic.url}", defaultModel: claude-sonnet-4-5 }
  - name: responses
    apiKeys: { k: sk-oai-props-secret-000000001 }
    llm: { provider: openai, api: openai-responses, baseUrl: "${responses.url}/v1", defaultModel: gpt-5-mini }
  - name: completions
    apiKeys: { k: sk-chat-props-secret-00000001 }
    llm: { provider: openai, api: openai-completions, baseUrl: "${completions.url}/v1", defaultModel: gpt-4o-mini }
  - name: codex
    apiKeys: { k: ${JSON.stringify(fakeCodexJwt({ accountId: 'acc-props' }))} }
    llm: { provider: openai-codex, api: openai-codex-responses, baseUrl: "${codex.url}", defaultModel: gpt-5.1-codex }
  - name: scripted
    apiKeys: { k: scripted-provider-secret-0001 }
    llm: { provider: scripted, api: ${SCRIPTED_API}, baseUrl: "http://127.0.0.1:9", defaultModel: scripted-model }
users:
${Object.entries(KEYS)
  .map(([name, key]) => `  - { name: ${name}, apiKey: ${key}, providerName: ${name}, providerKeyName: k }`)
  .join('\n')}
`);
  });
  afterAll(async () => {
    await gw.stop();
    await Promise.all(fakes.map((f) => f.close()));
    unregister();
  });

  const post = (key: string, body: unknown) =>
    postRaw(`${gw.url}/v1/messages?beta=true`, JSON.stringify(body), { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' });

  it.each(TARGETS)('answers random valid Anthropic requests to a %s upstream without a 5xx, in well-formed shape', async (target) => {
    let ran = 0;
    await fc.assert(
      fc.asyncProperty(anthropicRequestBody, fc.boolean(), async (body, stream) => {
        ran++;
        const reply = await post(KEYS[target], { ...body, stream });
        expect(reply.status, reply.text.slice(0, 500)).toBeLessThan(500);
        expectWellFormed(reply, stream);
      }),
      { numRuns: 40 },
    );
    expect(ran).toBe(40);
  });

  it('turns random pi-ai event sequences into well-formed Anthropic SSE', async () => {
    let next = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const id = String(next++);
        scenarios.set(id, s);
        const reply = await post(KEYS.scripted, { model: 'any', max_tokens: 64, stream: true, messages: [{ role: 'user', content: `scenario:${id}` }] });
        expectWellFormed(reply, true);
        const completed = s.ending === 'stop' || s.ending === 'length' || s.ending === 'toolUse' || s.ending === 'refusal';
        if (reply.status === 200) {
          const events = anthropicEvents(reply.text);
          expect(events.at(-1)?.type, reply.text).toBe(completed ? 'message_stop' : 'error');
          if (completed && s.ending !== 'refusal') {
            const text = events.map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : '')).join('');
            expect(text.length).toBe(s.blocks.filter((b) => b.kind === 'text').flatMap((b) => b.deltas).join('').length);
          }
        } else {
          // Failing before any output is the only way to a non-200.
          expect(completed).toBe(false);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('aggregates the same random sequences into a message or a JSON error when not streaming', async () => {
    let next = 100_000;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const id = String(next++);
        scenarios.set(id, s);
        const reply = await post(KEYS.scripted, { model: 'any', max_tokens: 64, messages: [{ role: 'user', content: `scenario:${id}` }] });
        expectWellFormed(reply, false);
        const completed = s.ending === 'stop' || s.ending === 'length' || s.ending === 'toolUse' || s.ending === 'refusal';
        expect(reply.status === 200, reply.text.slice(0, 300)).toBe(completed);
      }),
      { numRuns: 100 },
    );
  });
});
