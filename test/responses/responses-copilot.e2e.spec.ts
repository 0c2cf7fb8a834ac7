import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChatCompletionsFake } from '../fakes/chat-completions.fake.js';
import type { FakeScript } from '../fakes/fake-turn.js';
import type { RecordedJson } from '../fakes/fake-upstream.js';
import type { ProviderFake } from '../fakes/provider-fake.js';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.js';
import { COPILOT_HEADERS, WEATHER_TOOL } from '../support/responses-fixtures.js';

const USER_KEY = 'piapi-user-copilot-00001';
const COPILOT_TOKEN = 'tid=fake-copilot-token-0001;exp=9999999999';

const script: FakeScript = (req) => {
  const text = req.text();
  if (text.includes('tool-result-marker')) return { text: ['It is ', 'sunny.'] };
  if (text.includes('please-weather')) return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] };
  return { text: ['Hello', ' from', ' Copilot'], usage: { inputTokens: 9, outputTokens: 3 } };
};

describe('/v1/responses → GitHub Copilot (github-copilot on openai-completions)', () => {
  let fake: ProviderFake;
  let gw: TestGateway;
  let openai: OpenAI;

  beforeAll(async () => {
    fake = await startChatCompletionsFake(script);
    // Copilot's base URL has no /v1: the chat completions path sits at its root.
    gw = await startTestGateway(`
providers:
  - name: copilot
    apiKeys: { main: ${JSON.stringify(COPILOT_TOKEN)} }
    llm:
      provider: github-copilot
      api: openai-completions
      baseUrl: ${fake.url}
      defaultModel: gpt-4.1
models:
  gpt-5.1-codex-mini: gpt-4.1
users:
  - { name: cora, apiKey: ${USER_KEY}, providerName: copilot, providerKeyName: main }
`);
    openai = new OpenAI({ apiKey: USER_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw.stop();
    await fake.close();
  });

  it("streams a text answer, sending the Copilot token as a bearer and Copilot Chat's headers", async () => {
    const stream = await openai.responses.create({ model: 'gpt-5.1-codex-mini', instructions: 'Be brief.', input: 'say hi', stream: true });
    const deltas: string[] = [];
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') deltas.push(event.delta);
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(deltas).toEqual(['Hello', ' from', ' Copilot']);
    expect(completed?.usage).toMatchObject({ input_tokens: 9, output_tokens: 3 });

    const upstream = fake.requests.at(-1)!;
    expect(upstream.path).toBe('/chat/completions');
    expect(upstream.headers.authorization).toBe(`Bearer ${COPILOT_TOKEN}`);
    expect(upstream.headers).toMatchObject({ ...COPILOT_HEADERS, 'x-initiator': 'user' });
    expect(JSON.stringify(upstream.headers)).not.toContain(USER_KEY);
    const body = upstream.json<RecordedJson>();
    expect(body).toMatchObject({ model: 'gpt-4.1', stream: true });
    // gpt-4.1 on Copilot takes no developer role and no store field (the registry's compat).
    expect(body.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    expect(body).not.toHaveProperty('store');
  });

  it('round-trips a tool call; the follow-up goes out as agent-initiated with the same call id', async () => {
    const first = await openai.responses.create({ model: 'gpt-5.1-codex-mini', input: 'please-weather in Paris', tools: [WEATHER_TOOL] });
    const call = first.output.find((i) => i.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather' });
    expect(JSON.parse(call.arguments)).toEqual({ city: 'Paris' });
    expect(fake.requests.at(-1)!.json().tools.map((t: RecordedJson) => t.function.name)).toEqual(['get_weather']);

    const second = await openai.responses.create({
      model: 'gpt-5.1-codex-mini',
      tools: [WEATHER_TOOL],
      input: [
        { role: 'user', content: 'please-weather in Paris' },
        { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: 'function_call_output', call_id: call.call_id, output: 'tool-result-marker: 21C' },
      ],
    });
    expect(second.output_text).toBe('It is sunny.');
    const upstream = fake.requests.at(-1)!;
    expect(upstream.headers).toMatchObject({ ...COPILOT_HEADERS, 'x-initiator': 'agent' });
    expect(upstream.headers.authorization).toBe(`Bearer ${COPILOT_TOKEN}`);
    const messages = upstream.json<RecordedJson>().messages;
    const assistant = messages.find((m: RecordedJson) => m.tool_calls);
    expect(assistant.tool_calls[0]).toMatchObject({ id: call.call_id, function: { name: 'get_weather' } });
    expect(messages.find((m: RecordedJson) => m.role === 'tool')).toMatchObject({ tool_call_id: call.call_id, content: 'tool-result-marker: 21C' });
  });
});
