import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeSignature } from '../fakes/anthropic-messages.events.js';
import { startAnthropicMessagesFake } from '../fakes/anthropic-messages.fake.js';
import type { FakeScript } from '../fakes/fake-turn.js';
import type { RecordedJson } from '../fakes/fake-upstream.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { COPILOT_HEADERS, WEATHER_TOOL } from '../support/responses-fixtures.js';

/**
 * GitHub Copilot's Claude models speak Anthropic Messages (pi-ai's github-copilot models on
 * `anthropic-messages`), reached through piapi's Anthropic client: a Copilot token as a bearer
 * (no x-api-key), Copilot Chat's headers, and X-Initiator telling a user's turn from an agent's.
 */

const USER_KEY = 'piapi-user-copilot-claude1';
const COPILOT_TOKEN = 'tid=fake-copilot-claude-token;exp=9999999999';

const script: FakeScript = (req) => {
  const last = JSON.stringify(req.json<{ messages: { content: unknown }[] }>().messages.at(-1)?.content ?? '');
  if (last.includes('tool-result-marker')) return { text: ['It is ', 'sunny.'] };
  if (last.includes('please-weather')) return { reasoning: ['Call the ', 'tool.'], toolCalls: [{ id: 'toolu_01CopilotClaude', name: 'get_weather', arguments: { city: 'Paris' } }] };
  return { text: ['Hello', ' from', ' Copilot Claude'], usage: { inputTokens: 9, outputTokens: 3 } };
};

const COPILOT_CLAUDE_HEADERS = { ...COPILOT_HEADERS, 'anthropic-version': '2023-06-01' };

describe('GitHub Copilot Claude models (github-copilot on anthropic-messages)', () => {
  let fake: ProviderFake;
  let gw: TestGateway;
  let openai: OpenAI;

  beforeAll(async () => {
    fake = await startAnthropicMessagesFake(script);
    gw = await startTestGateway(`
providers:
  - name: copilot
    apiKeys: { main: ${JSON.stringify(COPILOT_TOKEN)} }
    llm:
      provider: github-copilot
      api: anthropic-messages
      baseUrl: ${fake.url}
      defaultModel: claude-sonnet-4.5
models:
  gpt-5.1-codex:
    model: claude-sonnet-4.5
    reasoning: { low: low, medium: medium, high: high, default: medium }
users:
  - { name: cleo, apiKey: ${USER_KEY}, providerName: copilot, providerKeyName: main }
`);
    openai = new OpenAI({ apiKey: USER_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  it('/v1/responses streams a text answer, sending the Copilot token as a bearer and no x-api-key', async () => {
    const stream = await openai.responses.create({ model: 'gpt-5.1-codex', instructions: 'Be brief.', input: 'say hi', stream: true });
    const deltas: string[] = [];
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') deltas.push(event.delta);
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(deltas).toEqual(['Hello', ' from', ' Copilot Claude']);
    expect(completed?.usage).toMatchObject({ input_tokens: 9, output_tokens: 3 });

    const upstream = fake.requests.at(-1)!;
    expect(upstream.path).toBe('/v1/messages');
    expect(upstream.headers.authorization).toBe(`Bearer ${COPILOT_TOKEN}`);
    expect(upstream.headers['x-api-key']).toBeUndefined();
    expect(upstream.headers).toMatchObject({ ...COPILOT_CLAUDE_HEADERS, 'x-initiator': 'user' });
    expect(JSON.stringify(upstream.headers)).not.toContain(USER_KEY);
    const body = upstream.json<RecordedJson>();
    expect(body).toMatchObject({ model: 'claude-sonnet-4.5', stream: true, system: [{ type: 'text', text: 'Be brief.' }] });
  });

  it('/v1/responses round-trips a tool call with its signed thinking; the follow-up goes out as agent-initiated', async () => {
    const first = await openai.responses.create({
      model: 'gpt-5.1-codex',
      input: 'please-weather in Paris',
      tools: [WEATHER_TOOL],
      reasoning: { effort: 'high', summary: 'auto' },
      include: ['reasoning.encrypted_content'],
      store: false,
    });
    const reasoning = first.output.find((i) => i.type === 'reasoning') as OpenAI.Responses.ResponseReasoningItem;
    const call = first.output.find((i) => i.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(reasoning.encrypted_content).toBeTruthy();
    expect(call).toMatchObject({ call_id: 'toolu_01CopilotClaude', name: 'get_weather' });
    expect(fake.requests.at(-1)!.json().thinking?.type).toBe('enabled');

    const second = await openai.responses.create({
      model: 'gpt-5.1-codex',
      tools: [WEATHER_TOOL],
      reasoning: { effort: 'high', summary: 'auto' },
      include: ['reasoning.encrypted_content'],
      input: [
        { role: 'user', content: 'please-weather in Paris' },
        reasoning,
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: 'tool-result-marker: 21C' },
      ],
    });
    expect(second.output_text).toBe('It is sunny.');
    const upstream = fake.requests.at(-1)!;
    expect(upstream.headers).toMatchObject({ ...COPILOT_CLAUDE_HEADERS, 'x-initiator': 'agent' });
    const messages = upstream.json<RecordedJson>().messages;
    // The fake, like the API, refuses a thinking block whose signature is not the one it issued.
    expect(messages[1].content[0]).toEqual({ type: 'thinking', thinking: 'Call the tool.', signature: fakeSignature('Call the tool.') });
    expect(messages[1].content[1]).toMatchObject({ type: 'tool_use', id: 'toolu_01CopilotClaude', name: 'get_weather' });
    expect(messages[2].content[0]).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_01CopilotClaude' });
  });

  it('/v1/messages (Claude Code on a Copilot Claude model) answers through the same client', async () => {
    const anthropic = new Anthropic({ apiKey: USER_KEY, baseURL: gw.url, maxRetries: 0 });
    const message = await anthropic.messages.create({ model: 'claude-sonnet-4.5', max_tokens: 100, messages: [{ role: 'user', content: 'say hi' }] });
    expect(message.content).toMatchObject([{ type: 'text', text: 'Hello from Copilot Claude' }]);
    const upstream = fake.requests.at(-1)!;
    expect(upstream.headers.authorization).toBe(`Bearer ${COPILOT_TOKEN}`);
    expect(upstream.headers).toMatchObject({ ...COPILOT_CLAUDE_HEADERS, 'x-initiator': 'user' });
  });
});
